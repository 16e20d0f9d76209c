"""Reports from partner agencies (health, civil affairs): the CloudEvents they send and what they mean.

Pure: parsing and checking only. The service authenticates the delivery, finds the person and records
the life event; nothing here touches storage.

Event types (CloudEvents `type`, JSON `data`; dates are `YYYY-MM-DD`, ID numbers 18-character GB 11643):

`gov.health.death_reported`
    `{"id_number", "died_on"}` — a death; recorded as a `death` life event on `died_on`.
`gov.health.disability_assessed`
    `{"id_number", "grade": 1–4, "assessed_on"}` — a disability certificate assessment; recorded as
    `disability_assessed` with the grade, effective `assessed_on`.
`gov.health.birth_registered`
    `{"mother_id_number", "child_name", "sex": "male"|"female", "birth_date", "child_id_number"?}` —
    a birth; the child is registered in the mother's household with the mother linked.
`gov.civil_affairs.low_income_changed`
    `{"id_number", "kind": "dibao"|"tekun", "in_force": true|false, "effective_date"}` — a 低保 or
    特困 status granted (`in_force: true`) or ended (`false`); recorded as `low_income_changed`.

A report that breaks a rule here (unknown type, bad check character, a date that is not a real date,
in the future, or before the birth the ID number carries; a birth reported for a man) is refused
whole: `FieldError` naming the field as `data.<name>` (or the envelope attribute).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from registry.domain.errors import FieldError
from registry.domain.history import LifeEvent, LifeEventKind, in_force
from registry.domain.identity import ResidentId, check_id_agrees, parse_resident_id
from registry.domain.model import LowIncomeKind, Sex

# An agency is a short slug; `partner:<agency>` must fit the 64-character `life_events.source`.
AGENCY_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?\Z")
# The CloudEvent `source` names the sending partner: `/partners/<agency>`, optionally with a sub-path
# of the partner's own (`/partners/<agency>/hospital-3`).
SOURCE_PATTERN = re.compile(r"^/partners/([a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?)(?:/[\x21-\x7e]*)?\Z")
JSON_MEDIA = frozenset({"application/json", "application/cloudevents+json"})
_DATE_SHAPE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
MAX_NAME = 64


class PartnerEventType(StrEnum):
    DEATH_REPORTED = "gov.health.death_reported"
    DISABILITY_ASSESSED = "gov.health.disability_assessed"
    BIRTH_REGISTERED = "gov.health.birth_registered"
    LOW_INCOME_CHANGED = "gov.civil_affairs.low_income_changed"


@dataclass(frozen=True)
class PartnerEnvelope:
    """The CloudEvent attributes the registry reads; `data` is checked by `parse_report`."""

    id: str
    type: str
    source: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Newborn:
    name: str
    sex: Sex
    birth_date: date
    resident_id: ResidentId | None


@dataclass(frozen=True)
class PartnerReport:
    """A checked report. `subject` is the person it is about: the deceased, the assessed person, the
    low-income holder, or, for a birth, the mother."""

    type: PartnerEventType
    subject: ResidentId
    kind: LifeEventKind
    effective_date: date
    payload: dict[str, Any]  # the life-event payload, in the shape `check_life_event` takes
    newborn: Newborn | None = None

    def stored(self) -> dict[str, Any]:
        """The normalised `data` (known fields only): what a review item keeps, and re-parses on resolve."""
        return _STORE[self.type](self)


def agency_of_source(source: object) -> str | None:
    """The agency a CloudEvent `source` names, or None if it is not `/partners/<agency>[/…]`."""
    if not isinstance(source, str):
        return None
    match = SOURCE_PATTERN.match(source)
    return match.group(1) if match else None


def peek_source(body: bytes) -> object:
    """The `source` attribute of a body that may be anything (read before the signature is checked)."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return document.get("source") if isinstance(document, dict) else None


def is_json_media_type(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in JSON_MEDIA


def parse_envelope(body: bytes) -> PartnerEnvelope:
    """A structured-mode CloudEvent 1.0 with a JSON object as `data`."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FieldError("body", "The body is not JSON.", "请求体不是有效的 JSON。") from exc
    if not isinstance(document, dict):
        raise FieldError("body", "A CloudEvent is a JSON object.", "CloudEvent 应为 JSON 对象。")
    if document.get("specversion") != "1.0":
        raise FieldError("specversion", "Only CloudEvents specversion 1.0 is accepted.",
                         "仅接受 CloudEvents 1.0 版本（specversion）。")
    for name in ("id", "type", "source"):
        value = document.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 256:
            raise FieldError(name, f"The CloudEvent attribute {name} is required (text, at most 256 characters).",
                             f"CloudEvent 属性 {name} 为必填文本（最多256个字符）。")
    content_type = document.get("datacontenttype")
    if content_type is not None and not (isinstance(content_type, str) and is_json_media_type(content_type)):
        raise FieldError("datacontenttype", "The event data must be JSON (application/json).",
                         "事件数据应为 JSON（application/json）。")
    data = document.get("data")
    if not isinstance(data, dict):
        raise FieldError("data", "The event data must be a JSON object.", "事件数据（data）应为 JSON 对象。")
    return PartnerEnvelope(id=document["id"], type=document["type"], source=document["source"], data=data)


def parse_report(event_type: str, data: dict[str, Any], today: date) -> PartnerReport:
    """Check a report's data; `FieldError` (→ 422) on the first broken rule."""
    try:
        kind = PartnerEventType(event_type)
    except ValueError as exc:
        known = ", ".join(t.value for t in PartnerEventType)
        raise FieldError("type", f"Unknown event type; the registry accepts {known}.",
                         f"未知的事件类型；可接受：{known}。") from exc
    return _PARSERS[kind](data, today)


def _death(data: dict[str, Any], today: date) -> PartnerReport:
    subject = _resident_id(data, "id_number")
    died_on = _date(data, "died_on", today, not_before=subject.birth_date)
    return PartnerReport(PartnerEventType.DEATH_REPORTED, subject, LifeEventKind.DEATH, died_on, {})


def _disability(data: dict[str, Any], today: date) -> PartnerReport:
    subject = _resident_id(data, "id_number")
    grade = data.get("grade")
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in (1, 2, 3, 4):
        raise FieldError("data.grade", "The disability grade is a whole number from 1 to 4.",
                         "残疾等级应为1至4的整数。")
    assessed_on = _date(data, "assessed_on", today, not_before=subject.birth_date)
    return PartnerReport(PartnerEventType.DISABILITY_ASSESSED, subject, LifeEventKind.DISABILITY_ASSESSED,
                         assessed_on, {"grade": grade})


def _low_income(data: dict[str, Any], today: date) -> PartnerReport:
    subject = _resident_id(data, "id_number")
    try:
        kind = LowIncomeKind(data.get("kind"))
    except ValueError as exc:
        raise FieldError("data.kind", "The low-income kind is dibao or tekun.",
                         "低收入类别应为 dibao（低保）或 tekun（特困）。") from exc
    flag = data.get("in_force")
    if not isinstance(flag, bool):
        raise FieldError("data.in_force", "in_force is true (granted) or false (ended).",
                         "in_force 应为 true（纳入）或 false（退出）。")
    effective = _date(data, "effective_date", today, not_before=subject.birth_date)
    return PartnerReport(PartnerEventType.LOW_INCOME_CHANGED, subject, LifeEventKind.LOW_INCOME_CHANGED, effective,
                         {"low_income_kind": kind.value, "in_force": flag})


def _birth(data: dict[str, Any], today: date) -> PartnerReport:
    mother = _resident_id(data, "mother_id_number")
    if mother.sex is not Sex.FEMALE:
        raise FieldError("data.mother_id_number", "The mother's ID number is a man's (even sequence digit expected).",
                         "母亲的公民身份号码显示为男性。")
    name = data.get("child_name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise FieldError("data.child_name", f"The child's name is required (at most {MAX_NAME} characters).",
                         f"新生儿姓名为必填（最多{MAX_NAME}个字符）。")
    try:
        sex = Sex(data.get("sex"))
    except ValueError as exc:
        raise FieldError("data.sex", "The child's sex is male or female.", "新生儿性别应为 male 或 female。") from exc
    born = _date(data, "birth_date", today, not_before=mother.birth_date)
    if born == mother.birth_date:
        raise FieldError("data.birth_date", "A child cannot be as old as its mother.", "子女不能与母亲同龄。")
    child_id = None
    raw_child_id = data.get("child_id_number")
    if raw_child_id is not None:
        if not isinstance(raw_child_id, str):
            raise FieldError("data.child_id_number", "The child's ID number is text.", "新生儿公民身份号码应为文本。")
        child_id = _prefixed(lambda: check_id_agrees(raw_child_id, birth_date=born, sex=sex), "child_id_number")
    newborn = Newborn(name=name.strip(), sex=sex, birth_date=born, resident_id=child_id)
    return PartnerReport(PartnerEventType.BIRTH_REGISTERED, mother, LifeEventKind.BIRTH, born, {}, newborn)


def _resident_id(data: dict[str, Any], name: str) -> ResidentId:
    raw = data.get(name)
    if not isinstance(raw, str) or not raw.strip():
        raise FieldError(f"data.{name}", "The resident ID number is required.", "公民身份号码为必填。")
    return _prefixed(lambda: parse_resident_id(raw), name)


def _prefixed(check, name: str):  # noqa: ANN001, ANN202
    """Run an identity check, naming the field as it sits in the event (`data.<name>`)."""
    try:
        return check()
    except FieldError as exc:
        field = f"data.{name}" if exc.field == "id_number" else f"data.{exc.field}"
        raise FieldError(field, exc.message, exc.message_zh) from exc


def _date(data: dict[str, Any], name: str, today: date, *, not_before: date) -> date:
    raw = data.get(name)
    field = f"data.{name}"
    if not isinstance(raw, str) or not _DATE_SHAPE.match(raw):
        raise FieldError(field, "A date is written YYYY-MM-DD.", "日期格式应为 YYYY-MM-DD。")
    try:
        value = date.fromisoformat(raw)
    except ValueError as exc:
        raise FieldError(field, "Not a real date.", "日期无效。") from exc
    if value > today:
        raise FieldError(field, "The date is in the future.", "日期不能晚于今天。")
    if value < not_before:
        raise FieldError(field, "The date is before the birth date the ID number carries.",
                         "日期早于公民身份号码中的出生日期。")
    return value


_PARSERS = {
    PartnerEventType.DEATH_REPORTED: _death,
    PartnerEventType.DISABILITY_ASSESSED: _disability,
    PartnerEventType.BIRTH_REGISTERED: _birth,
    PartnerEventType.LOW_INCOME_CHANGED: _low_income,
}

_STORE = {
    PartnerEventType.DEATH_REPORTED: lambda r: {"id_number": r.subject.number,
                                                "died_on": r.effective_date.isoformat()},
    PartnerEventType.DISABILITY_ASSESSED: lambda r: {"id_number": r.subject.number, "grade": r.payload["grade"],
                                                     "assessed_on": r.effective_date.isoformat()},
    PartnerEventType.LOW_INCOME_CHANGED: lambda r: {"id_number": r.subject.number,
                                                    "kind": r.payload["low_income_kind"],
                                                    "in_force": r.payload["in_force"],
                                                    "effective_date": r.effective_date.isoformat()},
    PartnerEventType.BIRTH_REGISTERED: lambda r: {
        "mother_id_number": r.subject.number, "child_name": r.newborn.name, "sex": r.newborn.sex.value,
        "birth_date": r.newborn.birth_date.isoformat(),
        "child_id_number": r.newborn.resident_id.number if r.newborn.resident_id else None},
}

ID_FIELDS = ("id_number", "mother_id_number", "child_id_number")


def relation_of_newborn(mother_relation: str) -> str:
    """The newborn's relation to the household head, from the mother's."""
    return {"head": "child", "spouse": "child", "child": "grandchild", "parent": "sibling"}.get(mother_relation,
                                                                                                "other")


def spouse_on(person_id: str, events: list[LifeEvent], day: date) -> tuple[bool, str | None]:
    """From marriage and divorce events (recorded on either spouse; corrections honoured): whether the
    person has any marriage history, and the spouse in force on `day` (None if unmarried then)."""
    relevant = [e for e in in_force(events)
                if e.kind in (LifeEventKind.MARRIAGE, LifeEventKind.DIVORCE)
                and person_id in (e.person_id, str(e.payload.get("spouse_id")))]
    spouse: str | None = None
    for e in relevant:
        if e.effective_date > day:
            break
        other = str(e.payload.get("spouse_id")) if e.person_id == person_id else e.person_id
        if e.kind is LifeEventKind.MARRIAGE:
            spouse = other
        elif spouse == other:
            spouse = None
    return bool(relevant), spouse
