"""Serve a simulator on a free 127.0.0.1 port inside the test's own event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:  # uvicorn exits the process when start-up fails; a test wants an error
        raise RuntimeError("the simulator failed to start (see its log above)") from exc


@asynccontextmanager
async def running_simulator(app_factory: Callable[..., FastAPI], **config: Any) -> AsyncIterator[str]:
    """`async with running_simulator(create_app, failure_rate=0.1) as url:` — yields "http://127.0.0.1:<port>".
    Tests drive the simulator through its `/_sim` endpoints, as any other client would.
    """
    app = app_factory(**config)
    sock = _bound_socket()  # bound before serving, so no other process can take the port meanwhile
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=1)
    )
    server.config.setup_event_loop = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(_serve(server, sock))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises the start-up error
                raise RuntimeError("simulator stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, 10)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
        sock.close()


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What a recording receiver saw; stands in for our own callback routes in simulator tests."""

    url: str = ""
    requests: list[ReceivedRequest] = field(default_factory=list)
    status_code: int = 200

    async def wait_for(self, count: int, within_s: float = 10.0) -> list[ReceivedRequest]:
        deadline = asyncio.get_running_loop().time() + within_s
        while len(self.requests) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"received {len(self.requests)} requests, expected {count} within {within_s}s")
            await asyncio.sleep(0.02)
        return self.requests


@asynccontextmanager
async def recording_receiver(status_code: int = 200) -> AsyncIterator[Receiver]:
    """Serve an app that records every POST (any path) and answers `status_code`."""
    receiver = Receiver(status_code=status_code)
    app = FastAPI()

    @app.post("/{path:path}")
    async def record(path: str, request: Request) -> Response:
        receiver.requests.append(ReceivedRequest("/" + path, dict(request.headers), await request.body()))
        return Response(status_code=receiver.status_code)

    async with running_simulator(lambda: app) as url:
        receiver.url = url
        yield receiver
