"""Ops endpoints: list, replay and discard dead-lettered events."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.events.envelope import EventEnvelope, InvalidEvent
from carekit.http.problems import PROBLEM_JSON, Problem, ProblemError, not_found
from carekit.logging import get_logger


def _problems(*statuses: tuple[int, str]) -> dict[int | str, dict]:
    return {status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": text} for status, text in statuses}


# With those the kit's OpenAPI hook adds (401, 403, 422, 500: carekit.http.openapi).
router = APIRouter(prefix="/v1/ops", tags=["ops"], responses=_problems((503, "NATS is not connected yet")))
_ONE_LETTER = _problems((404, "No dead letter with this seq"))
log = get_logger(__name__)
OpsPrincipal = Annotated[Principal, Depends(require_roles(Role.OPS, Role.ADMIN))]
# NATS stream sequence numbers start at 1 and are kept within a signed 64-bit integer here: beyond it
# NATS answers "bad request" (a 500 before these bounds) and JSON clients lose the digits anyway.
SEQ_MAX = 2**63 - 1
Seq = Annotated[int, Path(ge=1, le=SEQ_MAX, description="`seq` of a dead letter")]


class DeadLetterPublic(BaseModel):
    seq: int
    consumer: str
    original_subject: str
    original_stream: str
    original_seq: int
    error: str
    deliveries: int
    failed_at: datetime | None
    event_id: str | None
    event_type: str | None


class DeadLetterPage(BaseModel):
    items: list[DeadLetterPublic]
    next_cursor: str | None


class ReplayResult(BaseModel):
    seq: int
    event_id: str
    handled: bool
    already_handled: bool


def _store(request: Request):  # noqa: ANN202
    store = request.app.state.runtime.dead_letters
    if store is None:
        raise ProblemError(503, "nats-unavailable", "Event backbone unavailable",
                           "NATS is not connected yet; try again shortly.",
                           "消息总线不可用", "NATS 尚未连接，请稍后重试。")
    return store


@router.get("/dead-letters", operation_id="ops-list_dead_letters", response_model=DeadLetterPage,
            summary="Events this service's consumers gave up on")
async def list_dead_letters(
    request: Request, _: OpsPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[int, Query(ge=0, le=SEQ_MAX - 1, description="`next_cursor` of the previous page")] = 0,
) -> DeadLetterPage:
    letters = await _store(request).list(after_seq=cursor, limit=limit)
    items = [DeadLetterPublic(**letter.__dict__) for letter in letters]
    return DeadLetterPage(items=items, next_cursor=str(items[-1].seq) if len(items) == limit else None)


@router.post("/dead-letters/{seq}/replay", operation_id="ops-replay_dead_letter", response_model=ReplayResult,
             responses={**_ONE_LETTER, **_problems(
                 (409, "The consumer no longer exists, or the Idempotency-Key was used for another request"))},
             summary="Run a dead-lettered event through its handler again and remove it on success")
async def replay_dead_letter(request: Request, seq: Seq, principal: OpsPrincipal) -> ReplayResult:
    store = _store(request)
    found = await store.get(seq)
    if found is None:
        raise not_found("dead letter", "死信")
    letter, raw = found
    consumer = request.app.state.runtime.consumers.get(letter.consumer)
    try:
        event = EventEnvelope.from_json(raw)
    except InvalidEvent as exc:
        raise ProblemError(422, "event-unreadable", "Event cannot be read",
                           f"This message is not a valid CloudEvent ({exc}); discard it instead.",
                           "事件无法解析", "该消息不是有效的 CloudEvent，请将其删除。") from exc
    if consumer is None:
        raise ProblemError(409, "consumer-gone", "Consumer no longer exists",
                           f"No consumer named '{letter.consumer}' runs in this service.", "消费者不存在",
                           f"本服务中没有名为 {letter.consumer} 的消费者。")
    try:
        handled = await consumer.handle_replayed(event)
    except Exception as exc:  # noqa: BLE001 - report the handler's error, keep the letter
        raise ProblemError(422, "replay-failed", "Replay failed",
                           f"The handler failed again: {exc!r}. The event stays in the dead-letter stream.",
                           "重放失败", "处理程序再次失败，该事件仍保留在死信队列中。") from exc
    await store.delete(seq)
    log.info("dead letter replayed", seq=seq, event_id=str(event.id), by=principal.sub)
    return ReplayResult(seq=seq, event_id=str(event.id), handled=handled, already_handled=not handled)


@router.delete("/dead-letters/{seq}", operation_id="ops-discard_dead_letter", status_code=204, responses=_ONE_LETTER,
               summary="Discard a dead-lettered event for good")
async def discard_dead_letter(request: Request, seq: Seq, principal: OpsPrincipal) -> Response:
    store = _store(request)
    if await store.get(seq) is None:
        raise not_found("dead letter", "死信")
    await store.delete(seq)
    log.warning("dead letter discarded", seq=seq, by=principal.sub)
    return Response(status_code=204)
