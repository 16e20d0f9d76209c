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
