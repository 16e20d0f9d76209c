"""RFC 9457 problem+json answers for the simulators (they stand apart from the platform's kit)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

ADMIN_PREFIX = "/_sim/"


def problem(status: int, title: str, detail: str, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()[:20]]
        not_json = next((e for e in exc.errors() if e["type"] == "json_invalid"), None)
        if not_json is not None:
            where = _line_and_column(await request.body(), not_json["loc"])
            reason = not_json.get("ctx", {}).get("error", "")
            return problem(422, "Invalid JSON", f"The body is not valid JSON ({reason} at {where}).", errors=errors)
        return problem(422, "Invalid request", "The request body or parameters are not valid.", errors=errors)


def _line_and_column(body: bytes, loc: tuple[Any, ...] | list[Any]) -> str:
    offset = loc[-1] if loc and isinstance(loc[-1], int) else 0
    text = body.decode(errors="replace")[:offset]
    return f"line {text.count(chr(10)) + 1}, column {offset - (text.rfind(chr(10)) + 1) + 1}"


class AdminBodiesAreJson:
    """The admin endpoints (`/_sim/…`) only ever take JSON, so their body is read as JSON whatever
    Content-Type says: `curl -d '{…}'` labels it application/x-www-form-urlencoded. The provider APIs the
    services call keep the real providers' content-type rules."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(ADMIN_PREFIX):
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)


def install_admin_conventions(app: FastAPI) -> None:
    install_problem_handlers(app)
    app.add_middleware(AdminBodiesAreJson)
