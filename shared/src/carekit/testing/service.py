"""Run a service app in-process (lifespan included) and talk to it with httpx."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
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
