"""`guanhuai-demo run` takes every service's URL, so it runs against a `make run` on any ports."""

import typer

from demo.cli import app

URLS = {
    "registry": "http://127.0.0.1:18001",
    "entitlements": "http://127.0.0.1:18002",
    "relief": "http://127.0.0.1:18003",
    "notifications": "http://127.0.0.1:18004",
    "payments": "http://127.0.0.1:18101",
    "sms": "http://127.0.0.1:18102",
    "receiver": "http://127.0.0.1:18103",
}


def parsed(*args: str) -> dict:
    run = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    return run.make_context("run", list(args)).params


def test_every_url_option_is_taken() -> None:
    params = parsed(*(arg for name, url in URLS.items() for arg in (f"--{name}", url)))
    assert {name: params[name] for name in URLS} == URLS
    assert params["with_notifications"] is True


def test_sms_and_webhooks_can_be_turned_off() -> None:
    assert parsed("--no-sms-and-webhooks")["with_notifications"] is False
