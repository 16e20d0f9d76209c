"""`serving` puts an app on a real port with its lifespan; the port is free again afterwards."""

import httpx
import pytest
from fastapi import FastAPI

from carekit.testing.service import serving


async def test_an_app_is_served_on_a_real_port_and_stopped():
    events: list[str] = []
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    app.router.on_startup.append(lambda: events.append("up"))
    app.router.on_shutdown.append(lambda: events.append("down"))
    async with serving(app) as url:
        assert url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/ping")).json() == {"pong": "yes"}
    assert events == ["up", "down"]
    async with httpx.AsyncClient(base_url=url) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/ping")
