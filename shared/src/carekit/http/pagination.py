"""Cursor pagination: opaque, signed cursors over a stable sort key."""

import base64
import hashlib
import hmac
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel

from carekit.http.problems import ProblemError

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int
    after: dict[str, Any] | None


def _bad_cursor() -> ProblemError:
    return ProblemError(
        400, "bad-cursor", "Bad cursor",
        "The cursor is not one this service issued. Start again without a cursor.",
        "分页游标无效", "该游标不是本服务签发的，请去掉 cursor 参数重新开始。",
    )


def _mac(secret: str, scope: str, raw: bytes) -> bytes:
    return hmac.new(secret.encode(), scope.encode() + b"\n" + raw, hashlib.sha256).digest()[:12]


def encode_cursor(position: dict[str, Any], secret: str, scope: str = "") -> str:
    """`scope` (the list's path) binds the cursor to one list, whose handler knows its position's shape."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True, default=str).encode()
    return base64.urlsafe_b64encode(_mac(secret, scope, raw) + raw).decode().rstrip("=")


def decode_cursor(cursor: str, secret: str, scope: str = "") -> dict[str, Any]:
    try:
        blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        mac, raw = blob[:12], blob[12:]
        if not hmac.compare_digest(mac, _mac(secret, scope, raw)):
            raise ValueError("bad mac")
        position = json.loads(raw)
        if not isinstance(position, dict):
            raise ValueError("not an object")
        return position
    except ValueError as exc:
        raise _bad_cursor() from exc


async def page_params(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page (1–200)")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` from the previous page")] = None,
) -> PageParams:
    secret = request.app.state.settings.cursor_secret.get_secret_value()
    return PageParams(limit=limit, after=decode_cursor(cursor, secret, request.url.path) if cursor else None)


PageDep = Annotated[PageParams, Depends(page_params)]


def next_cursor(request: Request, items: list[Any], limit: int, key: Any) -> str | None:
    """The cursor after the last item, or None when this page is the last one."""
    if len(items) < limit:
        return None
    secret = request.app.state.settings.cursor_secret.get_secret_value()
    return encode_cursor(key(items[-1]), secret, request.url.path)
