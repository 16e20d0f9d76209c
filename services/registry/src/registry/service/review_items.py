"""The review queue: partner reports a caseworker must place (unmatched ID, outside the partner's region,
in conflict with the record). A caseworker sees the items whose region hint lies inside their region,
and resolves each once: `matched` applies the report to a person they choose, `dismissed` keeps a reason.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.auth.principal import Principal
from carekit.db.uow import UnitOfWork
from carekit.pii import PiiVault
from registry.db import repository
from registry.db.tables import PersonRecord, ReviewItemRecord
from registry.domain.errors import FieldError
from registry.domain.identity import mask_id_number
from registry.domain.jurisdiction import area_of, covers
from registry.domain.partner_events import ID_FIELDS, parse_report
from registry.service.households import visible_person, visible_to
from registry.service.partner_events import REVIEW_FIELD, Applied, apply_report

OPEN, MATCHED, DISMISSED = "open", "matched", "dismissed"


class AlreadyResolved(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class Resolution:
    kind: str  # MATCHED or DISMISSED
    person_id: uuid.UUID | None = None
    reason: str | None = None


async def list_items(session: AsyncSession, principal: Principal, *, status: str | None, limit: int,
                     after: dict[str, Any] | None) -> list[ReviewItemRecord]:
    """Oldest first (a queue), inside the caller's area; `after` = {"created_at", "id"} of the last seen."""
    area = area_of(principal)
    if area is None:
        return []
    stmt = (select(ReviewItemRecord).where(ReviewItemRecord.region_hint.startswith(area, autoescape=True))
            .order_by(ReviewItemRecord.created_at, ReviewItemRecord.id).limit(limit))
    if status:
        stmt = stmt.where(ReviewItemRecord.status == status)
    if after:
        try:
            position = (datetime.fromisoformat(after["created_at"]), uuid.UUID(after["id"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise FieldError("cursor", "The cursor is not a position in this list.", "分页游标无效。") from exc
        stmt = stmt.where(tuple_(ReviewItemRecord.created_at, ReviewItemRecord.id) > position)
    return list((await session.execute(stmt)).scalars())


async def visible_item(session: AsyncSession, principal: Principal, item_id: uuid.UUID,
                       *, lock: bool = False) -> ReviewItemRecord | None:
    stmt = select(ReviewItemRecord).where(ReviewItemRecord.id == item_id)
    if lock:
        stmt = stmt.with_for_update()
    item = (await session.execute(stmt)).scalar_one_or_none()
    if item is None or not covers(principal, item.region_hint):
        return None
    return item


def opened(vault: PiiVault, item: ReviewItemRecord) -> dict[str, Any]:
    return json.loads(vault.open(item.payload_cipher, item.payload_key_id, REVIEW_FIELD))


def masked_report(payload: dict[str, Any]) -> dict[str, Any]:
    """The report's data with every ID number masked (names and dates are what a caseworker matches on)."""
    return {k: (mask_id_number(v) if k in ID_FIELDS and isinstance(v, str) else v)
            for k, v in payload.get("data", {}).items()}


async def candidate(session: AsyncSession, principal: Principal, item: ReviewItemRecord) -> uuid.UUID | None:
    """A person registered (since) with the report's ID number, if the caller may see them."""
    if not item.id_number_index:
        return None
    person = await repository.person_by_id_index(session, item.id_number_index)
    if person is None:
        return None
    household = await repository.household(session, person.household_id)
    return person.id if household is not None and visible_to(principal, household) else None


async def resolve(uow: UnitOfWork, principal: Principal, item: ReviewItemRecord, resolution: Resolution,
                  vault: PiiVault, today: date) -> dict[str, Any]:
    """Resolve an open item (the caller holds its row lock). FieldError → 422, ReportConflict → 409."""
    if item.status != OPEN:
        raise AlreadyResolved(item.status)
    if resolution.kind == MATCHED:
        person = await _person_for(uow.session, principal, resolution.person_id)
        payload = opened(vault, item)
        report = parse_report(item.event_type, payload["data"], today)
        applied: Applied = await apply_report(uow, principal, report, person, vault, today,
                                              source=f"partner:{item.agency}")
        detail: dict[str, Any] = applied.as_json()
    else:
        detail = {"reason": (resolution.reason or "").strip()}
    item.status = resolution.kind
    item.resolution = json.dumps(detail, ensure_ascii=False, sort_keys=True)
    item.resolved_by = principal.sub
    item.resolved_at = datetime.now(UTC)
    uow.session.add(item)
    await uow.session.flush()
    return detail


async def _person_for(session: AsyncSession, principal: Principal, person_id: uuid.UUID | None) -> PersonRecord:
    if person_id is None:
        raise FieldError("person_id", "Name the person the report is about.", "请指明报告所涉人员。")
    person = await visible_person(session, principal, person_id, field="person_id", lock=True)
    if person.merged_into is not None:
        raise FieldError("person_id", f"This person was merged into {person.merged_into}; match that one.",
                         f"该人员已合并至 {person.merged_into}，请匹配合并后的人员。")
    return person


def resolution_of(item: ReviewItemRecord) -> dict[str, Any] | None:
    return json.loads(item.resolution) if item.resolution else None
