"""Run a service app in-process (lifespan included) and talk to it with httpx.

`running` talks to the app in memory (ASGI); `serving` puts it on a real loopback port, for tests where
another service or a simulator has to call it over HTTP.
"""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from fastapi import FastAPI


@asynccontextmanager
async def running(app: FastAPI, *, wait_for_nats: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan (relay, consumers), wait until it is on NATS, yield a client."""
    async with app.router.lifespan_context(app):
        if wait_for_nats:
            await app.state.runtime.wait_until_running()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@asynccontextmanager
async def serving(app: FastAPI, *, port: int = 0, wait_for_nats: bool = True) -> AsyncIterator[str]:
    """Serve the app with uvicorn on 127.0.0.1:`port` (0: a free one) in this event loop; yield its base
    URL. A service stopped and served again on the same port comes back at its old address, as it would
    behind its address in production. The socket is bound before serving, so nothing takes the port
    meanwhile."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped the server
                raise RuntimeError("the server stopped before it started")
            await asyncio.sleep(0.01)
        if wait_for_nats and hasattr(app.state, "runtime"):
            await app.state.runtime.wait_until_running()
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, 10)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
        sock.close()


async def assert_ready_and_authenticated(app: FastAPI, tokens) -> None:  # noqa: ANN001 - TokenFactory
    """The checks every service passes once wired: ready on real servers, 401 without a token, /v1/me."""
    async with running(app) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "nats": "ok"}
        anonymous = await client.get("/v1/me")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        me = await client.get("/v1/me", headers=tokens.headers(roles=["caseworker"], region="360702"))
        assert me.status_code == 200
        assert me.json()["region"] == "360702"
