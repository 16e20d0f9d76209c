"""simulators.testing: serve an app in the test's loop on a free port, then free the port."""

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from simulators.payments.app import create_app as payments_app
from simulators.sms.app import create_app as sms_app
from simulators.testing import recording_receiver, running_simulator


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("factory", [payments_app, sms_app], ids=["payments", "sms"])
async def test_serves_on_a_free_port_and_frees_it(factory) -> None:  # noqa: ANN001
    async with running_simulator(factory, seed=42) as url:
        assert url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            assert (await client.get("/_sim/config")).json()["seed"] == 42
    assert port_is_free(int(url.rsplit(":", 1)[1]))


async def test_two_simulators_at_once_get_different_ports() -> None:
    async with running_simulator(payments_app) as first, running_simulator(payments_app) as second:
        assert first != second


async def test_a_failing_startup_is_raised_not_hung() -> None:
    @asynccontextmanager
    async def explode(_: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("boom")
        yield

    def broken() -> FastAPI:
        return FastAPI(lifespan=explode)

    with pytest.raises(RuntimeError, match="failed to start"):
        async with running_simulator(broken):
            pass


async def test_recording_receiver_records_and_answers_the_given_status() -> None:
    async with recording_receiver(status_code=503) as receiver, httpx.AsyncClient() as client:
        answer = await client.post(receiver.url + "/any/path", content=b"{}", headers={"X-A": "1"})
        assert answer.status_code == 503
        [seen] = await receiver.wait_for(1)
        assert (seen.path, seen.body, seen.headers["x-a"]) == ("/any/path", b"{}", "1")
