"""`Idempotency-Key` on creating POSTs: the same key and body replay the stored response;
the same key with another body is 409. Keys are scoped to the caller (the token's subject);
a request without a valid token is handled as if it had no key."""

import hashlib
import re

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carekit.auth.tokens import InvalidToken
from carekit.db.kit_tables import idempotency_keys as keys_table
from carekit.http.problems import ProblemError, problem_response

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}\Z")  # \Z: `$` would let a trailing newline through
# Outcomes a client can cure by itself are not remembered, so a retry with the same key can succeed.
NOT_STORED = {401, 403, 408, 409, 425, 428, 429}
SCOPE_MAX = 255


def _reused() -> ProblemError:
    return ProblemError(
        409, "idempotency-key-reused", "Idempotency key reused",
        "This Idempotency-Key was already used with a different request. Use a new key for a new request.",
        "幂等键已被使用", "该 Idempotency-Key 已用于另一个不同的请求，新请求请使用新的键。",
    )


def _in_progress() -> ProblemError:
    return ProblemError(
        409, "idempotency-in-progress", "Request in progress",
        "A request with this Idempotency-Key is still being processed. Retry in a moment.",
        "请求处理中", "使用该幂等键的请求仍在处理中，请稍后重试。",
        headers={"Retry-After": "1"},
    )


def _bad_key() -> ProblemError:
    return ProblemError(
        400, "bad-idempotency-key", "Bad Idempotency-Key",
        "Idempotency-Key must be 1–255 visible ASCII characters, e.g. a UUID.",
        "幂等键无效", "Idempotency-Key 必须是 1–255 个可见 ASCII 字符，例如 UUID。",
    )


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        key = request.headers.get("idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        if not KEY_PATTERN.match(key):
            await problem_response(request, _bad_key())(scope, receive, send)
            return
        scope_name = self._caller(request)
        if scope_name is None:
            # No verified caller, so no scope to keep one caller's stored response from another:
            # handle the request as if it had no key (an endpoint needing a token answers 401).
            await self.app(scope, receive, send)
            return
        body = await request.body()
        digest = hashlib.sha256(
            b"\n".join([scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()
        engine = request.app.state.runtime.db.engine
        existing = await self._claim(engine, scope_name, key, digest)
        if existing is not None:
            await self._answer_existing(existing, digest, request, scope, receive, send)
            return
        await self._run_and_store(engine, scope_name, key, body, scope, send)

    @staticmethod
    async def _claim(engine, scope_name: str, key: str, digest: str):  # noqa: ANN001, ANN205
        """Insert the key as in progress and return None, or return the row someone else holds."""
        where = (keys_table.c.scope == scope_name) & (keys_table.c.key == key)
        while True:
            async with engine.begin() as conn:
                inserted = await conn.execute(
                    pg_insert(keys_table)
                    .values(scope=scope_name, key=key, request_hash=digest)
                    .on_conflict_do_nothing()
                    .returning(keys_table.c.key)
                )
                if inserted.first() is not None:
                    return None
                existing = (await conn.execute(select(keys_table).where(where))).first()
            if existing is not None:
                return existing
            # The holder's request failed and its row was deleted in between: try to claim it again.

    @staticmethod
    def _caller(request: Request) -> str | None:
        """The scope keys live in: the verified token's subject, or None for no valid token."""
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        try:
            sub = request.app.state.token_verifier.verify(auth[7:]).sub
        except InvalidToken:
            return None
        scope = "sub:" + sub
        if len(scope) > SCOPE_MAX:  # the column is 255 characters
            scope = "sub-sha256:" + hashlib.sha256(sub.encode()).hexdigest()
        return scope

    async def _answer_existing(self, row, digest: str, request: Request, scope: Scope, receive: Receive,
                               send: Send) -> None:  # noqa: ANN001
        if row.request_hash != digest:
            await problem_response(request, _reused())(scope, receive, send)
        elif row.status_code is None:
            await problem_response(request, _in_progress())(scope, receive, send)
        else:
            stored = row.response_body or b""
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in row.response_headers or []]
            headers += [(b"content-length", str(len(stored)).encode()), (b"idempotent-replayed", b"true")]
            await send({"type": "http.response.start", "status": row.status_code, "headers": headers})
            await send({"type": "http.response.body", "body": stored})

    async def _run_and_store(self, engine, scope_name: str, key: str, body: bytes, scope: Scope,
                             send: Send) -> None:  # noqa: ANN001
        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        where = (keys_table.c.scope == scope_name) & (keys_table.c.key == key)
        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            async with engine.begin() as conn:
                await conn.execute(delete(keys_table).where(where))
            raise
        status = start.get("status", 500)
        async with engine.begin() as conn:
            if status >= 500 or status in NOT_STORED:
                await conn.execute(delete(keys_table).where(where))
                return
            stored_headers = [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in start.get("headers", [])
                if k.lower() not in (b"content-length", b"x-request-id", b"date", b"server")
            ]
            await conn.execute(
                update(keys_table).where(where).values(
                    status_code=status, response_headers=stored_headers, response_body=b"".join(chunks)
                )
            )
