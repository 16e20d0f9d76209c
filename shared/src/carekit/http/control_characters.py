"""One rule for every service: client text holds no control characters (pure ASGI middleware).

PostgreSQL `text` cannot hold a NUL (a 500 before this rule), and the other controls are never part of a
name, an address or a note: they are invisible, break logs, terminals and CSV exports, and mostly come
from a broken encoder. Refused: C0 controls except tab, LF and CR (which are text in a note or an
address), DEL (U+007F) and the C1 controls (U+0080–U+009F). C1 is refused too because it is no more
text than C0: it is what Windows-1252 quotes and dashes become when mis-decoded as Latin-1, U+0085 is a
line break to some parsers and U+009B opens a terminal escape sequence, so it would only ever be
mojibake or an injection, never a character a family's record needs.

Checked: JSON request bodies (every string, at any depth, object keys too), query parameters and path
parameters, each named as the client sent it (`body.members.0.name`, `query.name`, `path.code`).
Not checked: multipart and other non-JSON bodies (the registry's CSV imports are validated row by row by
their importer, which owns that rule) and headers (the HTTP server refuses control characters there).

Cheap on the common path: in valid JSON a control character can only be an escape (`\\u00XX`, `\\b`,
`\\f`), or a raw DEL or C1 (UTF-8 `C2 80`–`C2 9F`); a body without any of those is not parsed here.
"""

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.routing import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carekit.http.problems import FieldError, ProblemError, problem_response
from carekit.http.routes import declares_body, query_names, route_for

REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MAYBE_IN_JSON = re.compile(rb"\\u00|\\[bf]|\x7f|\xc2[\x80-\x9f]")
_MAYBE_IN_URL = re.compile(rb"%[01][0-9a-fA-F]|%7[fF]|%[cC]2%[89][0-9a-fA-F]|[\x00-\x1f\x7f]|\xc2[\x80-\x9f]")
MAX_REPORTED = 20
ALWAYS_READ_BYTES = 1 << 20


def _is_json(media: bytes) -> bool:
    media = media.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


def _reads_json_body(scope: Scope) -> bool:
    """Whether to read the body here: a JSON one, small, or for a route FastAPI reads the whole body of
    anyway; an endpoint that reads a large body itself keeps its own limits (no buffering it here)."""
    headers = dict(scope["headers"])
    if not _is_json(headers.get(b"content-type", b"")):
        return False
    length = headers.get(b"content-length", b"")
    if length.isdigit() and int(length) <= ALWAYS_READ_BYTES:
        return True
    reached = route_for(scope["app"], scope, get_route_path(scope))
    return reached is not None and getattr(reached[0], "body_field", None) is not None


def _shown(text: str) -> str:
    """A name as the client sent it, its control characters written as `\\uXXXX` so they can be read."""
    return REFUSED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def refused_in(value: Any, root: str) -> list[tuple[str, int, bool]]:
    """(field, code point, is a key) for each string of a parsed JSON value holding a refused character."""
    found: list[tuple[str, int, bool]] = []
    stack: list[tuple[str, Any]] = [(root, value)]
    while stack and len(found) < MAX_REPORTED:
        field, item = stack.pop()
        if isinstance(item, str):
            if bad := REFUSED.search(item):
                found.append((field, ord(bad.group()), False))
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                named = f"{field}.{_shown(key)}"
                if bad := REFUSED.search(key):
                    found.append((named, ord(bad.group()), True))
                children.append((named, child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(f"{field}.{i}", child) for i, child in enumerate(item)]))
    return found


def _field_error(field: str, codepoint: int, is_key: bool) -> FieldError:
    what, what_zh = ("The field name", "字段名") if is_key else ("The text", "文本")
    return FieldError(
        field=field,
        message=f"{what} contains the control character U+{codepoint:04X}, which is not allowed; remove it.",
        message_zh=f"{what_zh}含有不允许的控制字符 U+{codepoint:04X}，请删除。",
    )


def _problem(found: list[tuple[str, int, bool]]) -> tuple[ProblemError, list[FieldError]]:
    fields = ", ".join(field for field, _, _ in found)
    error = ProblemError(
        422, "validation-error", "Invalid request",
        f"Some fields contain control characters (such as NUL), which text may not hold: {fields}. "
        "Remove them and send the request again.",
        "请求数据无效", f"以下字段含有不允许的控制字符（如 NUL）：{fields}。请删除后重新提交。",
    )
    return error, [_field_error(*f) for f in found]


def _in_query(scope: Scope, declared: set[str]) -> list[tuple[str, int, bool]]:
    raw: bytes = scope.get("query_string", b"")
    if not _MAYBE_IN_URL.search(raw):
        return []
    return [(f"query.{name}", ord(bad.group()), False)
            for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
            if name in declared and (bad := REFUSED.search(value))]


def _in_body(body: bytes) -> list[tuple[str, int, bool]]:
    if not _MAYBE_IN_JSON.search(body):
        return []
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return []  # not JSON: FastAPI answers the syntax error itself
    return refused_in(value, "body")


def _refused(scope: Scope, body: bytes | None) -> list[tuple[str, int, bool]]:
    """What the request sends to the route it reaches: its path parameters, the query parameters and
    the body it declares (anything else is ignored by the route, so not refused). A request no route
    takes is left to the router (404, 405)."""
    reached = route_for(scope["app"], scope, get_route_path(scope))
    if reached is None:
        return []
    route, path_params = reached
    found = [(f"path.{name}", ord(bad.group()), False)
             for name, value in path_params.items() if (bad := REFUSED.search(value))]
    found += _in_query(scope, query_names(route))
    if body is not None and declares_body(route):
        found += _in_body(body)
    return found[:MAX_REPORTED]


class ControlCharacterMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        suspect = bool(REFUSED.search(scope["path"]) or _MAYBE_IN_URL.search(scope.get("query_string", b"")))
        body = None
        if _reads_json_body(scope):
            body = await _read_body(receive)
            receive = _replay(body, receive)
            suspect = suspect or bool(_MAYBE_IN_JSON.search(body))
        found = _refused(scope, body) if suspect else []
        if found:
            error, errors = _problem(found)
            await problem_response(Request(scope, receive), error, errors)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the app sees an empty body
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` giving the body already read in one message, then what the client sends next."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
