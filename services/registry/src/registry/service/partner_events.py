"""Partner intake: authenticate a Standard Webhooks delivery, answer replays from the first answer, and
turn a report into the same life events a caseworker records — or park it for a caseworker's review.

The partner is named by the CloudEvent `source`, `/partners/<agency>[/…]`, and must prove it with a
`webhook-signature` made with its secret over `webhook-id.webhook-timestamp.body`. The timestamp must be
within ±5 minutes of now. Nothing about the body is trusted before the signature is checked.

What happens to a checked report:
- its ID number (the mother's, for a birth) matches nobody → parked (`unmatched`), region hint = the
  first 6 digits of the number (the county that issued it);
- it matches a person whose household lies outside the partner's region → parked
  (`outside_partner_region`), region hint = the household's division code;
- it is already on record (same kind, day and content; the same child of the same mother) → nothing is
  written (`already_recorded`);
- it contradicts the record (another death date, an event after the recorded death, a child ID number
  held by someone else's child) → parked (`conflict`), with the rule it breaks;
- otherwise the life event is recorded through the caseworkers' own service functions, with
  `source = "partner:<agency>"` and `recorded_by = <agency>` (`applied`), which emits the registry's
  events and refreshes household facts.
"""

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook, WebhookVerificationError

from carekit.auth.principal import Principal
from carekit.db.uow import UnitOfWork
from carekit.pii import PiiVault
from registry.db import repository
from registry.db.tables import LifeEventRecord, PartnerDeliveryRecord, PartnerRecord, PersonRecord, ReviewItemRecord
from registry.domain.errors import FieldError
from registry.domain.history import LifeEventKind, in_force
from registry.domain.identity import ResidentId
from registry.domain.partner_events import (
    PartnerEnvelope,
    PartnerReport,
    agency_of_source,
    parse_report,
    peek_source,
    relation_of_newborn,
    spouse_on,
)
from registry.domain.registration import NewLifeEvent, NewPerson, check_life_event
from registry.service.life_events import record_person_event
from registry.service.mapping import life_event
from registry.service.partners import active_partner, in_remit, partner_principal, partner_secret
from registry.service.persons import PersonRegistration, id_index, register_person
from registry.service.views import household_on_day

TOLERANCE_SECONDS = 5 * 60
MAX_WEBHOOK_ID = 128
REVIEW_FIELD = "review_item_payload"

APPLIED, ALREADY_RECORDED, PARKED = "applied", "already_recorded", "parked"
UNMATCHED, OUTSIDE_PARTNER_REGION, CONFLICT = "unmatched", "outside_partner_region", "conflict"


class NotAuthenticated(Exception):
    """401: unknown or inactive partner, missing or bad signature, timestamp outside ±5 minutes."""

    def __init__(self, detail: str, detail_zh: str) -> None:
        super().__init__(detail)
        self.detail, self.detail_zh = detail, detail_zh


class WebhookIdTaken(Exception):
    """Another partner already used this webhook-id (ids are unique across partners)."""


class ReportConflict(Exception):
    """The report contradicts the registry; a person must decide."""

    def __init__(self, field: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.field, self.message, self.message_zh = field, message, message_zh


@dataclass(frozen=True)
class Applied:
    outcome: str  # APPLIED or ALREADY_RECORDED
    person_id: uuid.UUID  # the person the report was about (the mother, for a birth)
    life_event_id: uuid.UUID | None = None
    child_id: uuid.UUID | None = None

    def as_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "person_id": str(self.person_id),
                "life_event_id": str(self.life_event_id) if self.life_event_id else None,
                "child_id": str(self.child_id) if self.child_id else None}


@dataclass(frozen=True)
class Delivery:
    """The answer to a delivery; a replay of the webhook-id gets the same one."""

    webhook_id: str
    agency: str
    type: str
    outcome: str
    review_item_id: uuid.UUID | None
    received_at: datetime
    replayed: bool = False


# --- authentication -----------------------------------------------------------------------------------

_BAD = ("Unknown partner or bad signature. Sign the body per Standard Webhooks with your partner secret and "
        "send source /partners/<agency>.",
        "合作机构未登记或签名无效。请用本机构密钥按 Standard Webhooks 签名，并将 source 设为 /partners/<机构标识>。")


async def authenticate(session: AsyncSession, vault: PiiVault, body: bytes,
                       headers: Mapping[str, str], *, now: float | None = None) -> PartnerRecord:
    headers = {k.lower(): v for k, v in headers.items()}
    if not (headers.get("webhook-id") and headers.get("webhook-timestamp") and headers.get("webhook-signature")):
        raise NotAuthenticated("Send the webhook-id, webhook-timestamp and webhook-signature headers.",
                               "请携带 webhook-id、webhook-timestamp 和 webhook-signature 请求头。")
    try:
        stamp = int(headers["webhook-timestamp"])
    except ValueError as exc:
        raise NotAuthenticated("webhook-timestamp is whole seconds since 1970-01-01 UTC.",
                               "webhook-timestamp 应为自 1970-01-01 UTC 起的整秒数。") from exc
    if abs((time.time() if now is None else now) - stamp) > TOLERANCE_SECONDS:
        raise NotAuthenticated("webhook-timestamp is more than 5 minutes from now: check your clock and sign again.",
                               "webhook-timestamp 与当前时间相差超过5分钟：请校准时钟后重新签名。")
    agency = agency_of_source(peek_source(body))
    partner = await active_partner(session, agency) if agency else None
    if partner is None:
        raise NotAuthenticated(*_BAD)
    try:
        # The library checks the timestamp again (±5 min) and compares signatures in constant time.
        Webhook(partner_secret(vault, partner)).verify(body, headers, json_parse=False)
    except (WebhookVerificationError, ValueError) as exc:  # ValueError: bad base64, non-UTF-8 body, …
        raise NotAuthenticated(*_BAD) from exc
    return partner


# --- intake -------------------------------------------------------------------------------------------

async def receive(uow: UnitOfWork, partner: PartnerRecord, webhook_id: str, envelope: PartnerEnvelope,
                  vault: PiiVault, today: date) -> Delivery:
    """Process a delivery once. FieldError (→ 422) leaves nothing written; a replay changes nothing."""
    if len(webhook_id) > MAX_WEBHOOK_ID:
        raise FieldError("webhook-id", f"webhook-id has at most {MAX_WEBHOOK_ID} characters.",
                         f"webhook-id 最多{MAX_WEBHOOK_ID}个字符。")
    report = parse_report(envelope.type, envelope.data, today)
    session = uow.session
    claimed = await session.execute(pg_insert(PartnerDeliveryRecord).values(
        webhook_id=webhook_id, agency=partner.agency, event_type=report.type.value, outcome="processing",
    ).on_conflict_do_nothing(index_elements=["webhook_id"]).returning(PartnerDeliveryRecord.webhook_id))
    if claimed.first() is None:  # a delivery with this id committed first (we waited for it if in flight)
        first = await session.get(PartnerDeliveryRecord, webhook_id, populate_existing=True)
        if first.agency != partner.agency:
            raise WebhookIdTaken(webhook_id)
        return _answer(first, replayed=True)
    outcome, item_id = await _intake(uow, partner, webhook_id, envelope, report, vault, today)
    delivery = await session.get(PartnerDeliveryRecord, webhook_id)
    delivery.outcome, delivery.review_item_id = outcome, item_id
    session.add(delivery)
    await session.flush()
    return _answer(delivery)


def _answer(record: PartnerDeliveryRecord, *, replayed: bool = False) -> Delivery:
    return Delivery(webhook_id=record.webhook_id, agency=record.agency, type=record.event_type,
                    outcome=record.outcome, review_item_id=record.review_item_id, received_at=record.received_at,
                    replayed=replayed)


async def _intake(uow: UnitOfWork, partner: PartnerRecord, webhook_id: str, envelope: PartnerEnvelope,
                  report: PartnerReport, vault: PiiVault, today: date) -> tuple[str, uuid.UUID | None]:
    session, agency = uow.session, partner.agency
    index = id_index(vault, report.subject.number)
    origin = {"event_id": envelope.id, "source": envelope.source, "webhook_id": webhook_id}
    person = await find_person(session, index)
    if person is None:
        item = await park(uow, vault, agency, report, UNMATCHED, report.subject.region_code, index, origin)
        return PARKED, item.id
    principal = partner_principal(partner)
    household = await repository.household(session, person.household_id)
    region_hint = household.division_code  # read now: a rolled-back savepoint expires what it touched
    if not in_remit(partner, household):
        item = await park(uow, vault, agency, report, OUTSIDE_PARTNER_REGION, region_hint, index, origin)
        return PARKED, item.id
    try:
        async with session.begin_nested():
            applied = await apply_report(uow, principal, report, person, vault, today, source=f"partner:{agency}")
    except (FieldError, ReportConflict) as exc:
        note = {"field": exc.field, "message": exc.message, "message_zh": exc.message_zh}
        item = await park(uow, vault, agency, report, CONFLICT, region_hint, index, origin, note)
        return PARKED, item.id
    return applied.outcome, None


async def find_person(session: AsyncSession, index: str) -> PersonRecord | None:
    """The person holding this ID number (following a merge to the surviving record), locked."""
    person = (await session.execute(select(PersonRecord).where(PersonRecord.id_number_index == index)
                                    .with_for_update())).scalar_one_or_none()
    for _ in range(8):
        if person is None or person.merged_into is None:
            break
        person = await repository.person(session, person.merged_into, lock=True)
    return person


async def park(uow: UnitOfWork, vault: PiiVault, agency: str, report: PartnerReport, reason: str,
               region_hint: str, index: str | None, origin: dict[str, Any],
               note: dict[str, Any] | None = None) -> ReviewItemRecord:
    """Keep a report for a caseworker: the normalised data, sealed; never dropped."""
    payload = {**origin, "type": report.type.value, "data": report.stored(), "note": note}
    sealed = vault.seal(json.dumps(payload, ensure_ascii=False, sort_keys=True), REVIEW_FIELD)
    item = ReviewItemRecord(id=uuid.uuid4(), agency=agency, event_type=report.type.value, region_hint=region_hint,
                            id_number_index=index, payload_cipher=sealed.cipher, payload_key_id=sealed.key_id,
                            reason=reason, status="open")
    uow.session.add(item)
    await uow.session.flush()
    return item


# --- applying a report to a person (intake, and a caseworker's "matched" resolution) --------------------

async def apply_report(uow: UnitOfWork, principal: Principal, report: PartnerReport, person: PersonRecord,
                       vault: PiiVault, today: date, *, source: str) -> Applied:
    """Record the report on `person` (the mother, for a birth) as `principal`, marked with `source`.

    Raises FieldError when a registry rule refuses it, ReportConflict when it contradicts the record;
    both before anything is written.
    """
    if report.newborn is not None:
        return await _apply_birth(uow, principal, report, person, vault, today, source)
    new = NewLifeEvent(report.kind, report.effective_date, report.payload)
    if await _already_recorded(uow.session, person, new, today):
        return Applied(ALREADY_RECORDED, person.id)
    if report.kind is LifeEventKind.DEATH and person.death_date is not None:
        raise ReportConflict("data.died_on", f"The registry records this person's death on "
                             f"{person.death_date.isoformat()}.",
                             f"登记系统中此人的死亡日期为{person.death_date.isoformat()}。")
    record = await record_person_event(uow, principal, person, new, supersedes=None, moved_to=None, today=today,
                                       source=source)
    return Applied(APPLIED, person.id, life_event_id=record.id)


async def _already_recorded(session: AsyncSession, person: PersonRecord, new: NewLifeEvent, today: date) -> bool:
    """The same kind of event, on the same day, with the same content, is in force for this person."""
    wanted = check_life_event(new, subject=None, death_date=None, today=today)
    events = in_force(life_event(e) for e in await repository.events_of(session, person_id=person.id))
    return any(e.kind is new.kind and e.effective_date == new.effective_date and dict(e.payload) == wanted
               for e in events)


async def _apply_birth(uow: UnitOfWork, principal: Principal, report: PartnerReport, mother: PersonRecord,
                       vault: PiiVault, today: date, source: str) -> Applied:
    session, child = uow.session, report.newborn
    existing = await _known_child(session, vault, mother, child.name, child.birth_date, child.resident_id)
    if existing is not None:
        if existing.mother_id != mother.id:
            raise ReportConflict("data.child_id_number", "This ID number belongs to a person registered with "
                                 "another mother.", "该公民身份号码已登记给另一位母亲的子女。")
        return Applied(ALREADY_RECORDED, mother.id, child_id=existing.id)
    if mother.death_date is not None and mother.death_date < child.birth_date:
        raise ReportConflict("data.birth_date", "The registry records the mother's death before this birth.",
                             "登记系统中母亲的死亡日期早于出生日期。")
    household = await repository.household(session, mother.household_id, lock=True)
    father = await known_father(session, mother, child.birth_date)
    registration = PersonRegistration(
        household_id=household.id,
        person=NewPerson(name=child.name, relation=relation_of_newborn(mother.relation),
                         id_number=child.resident_id.number if child.resident_id else None, sex=child.sex,
                         birth_date=child.birth_date),
        mother_id=mother.id, father_id=father.id if father else None, source=source)
    record = await register_person(uow, principal, household, registration, vault, today)
    return Applied(APPLIED, mother.id, child_id=record.id)


async def _known_child(session: AsyncSession, vault: PiiVault, mother: PersonRecord, name: str, born: date,
                       resident_id: ResidentId | None) -> PersonRecord | None:
    if resident_id is not None:
        return await repository.person_by_id_index(session, id_index(vault, resident_id.number))
    return (await session.execute(select(PersonRecord).where(
        PersonRecord.mother_id == mother.id, PersonRecord.birth_date == born, PersonRecord.name == name,
        PersonRecord.merged_into.is_(None)).limit(1))).scalar_one_or_none()


async def known_father(session: AsyncSession, mother: PersonRecord, day: date) -> PersonRecord | None:
    """The mother's husband on the birth date, when the registry knows him; else None (a caseworker links
    the father later). Marriage and divorce events decide when the mother has any; otherwise, when she is
    the head or the head's spouse, the one living man who is the other of that pair in her household."""
    marriages = list((await session.execute(select(LifeEventRecord).where(
        LifeEventRecord.kind.in_([LifeEventKind.MARRIAGE.value, LifeEventKind.DIVORCE.value]),
        or_(LifeEventRecord.person_id == mother.id,
            LifeEventRecord.payload["spouse_id"].astext == str(mother.id))))).scalars())
    corrections = list((await session.execute(select(LifeEventRecord).where(
        LifeEventRecord.supersedes.in_([m.id for m in marriages])))).scalars()) if marriages else []
    has_history, spouse_id = spouse_on(str(mother.id), [life_event(e) for e in marriages + corrections], day)
    candidate: PersonRecord | None = None
    if has_history:
        candidate = await repository.person(session, uuid.UUID(spouse_id)) if spouse_id else None
    elif mother.relation in ("head", "spouse"):
        household = await repository.household(session, mother.household_id)
        view = await household_on_day(session, household, day)
        pair = [p for p, alive in view.members
                if alive and p.id != mother.id and p.relation in ("head", "spouse") and p.relation != mother.relation]
        candidate = pair[0] if len(pair) == 1 else None
    if candidate is None or candidate.sex != "male" or candidate.birth_date >= day or candidate.merged_into:
        return None
    return candidate


