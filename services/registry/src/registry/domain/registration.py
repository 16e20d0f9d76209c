"""Rules for new households, persons and life events. Pure: the service loads what they need.

Each rule raises `FieldError` naming the field, so the API answers 422 and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from registry.domain.errors import FieldError
from registry.domain.history import LifeEventKind, PersonIdentity
from registry.domain.identity import ResidentId, check_id_agrees, normalise_bank_card, normalise_mobile
from registry.domain.model import LowIncomeKind, Sex

RELATIONS = frozenset({"head", "spouse", "child", "parent", "grandchild", "sibling", "other"})


@dataclass(frozen=True)
class NewPerson:
    name: str
    relation: str
    id_number: str | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    phone: str | None = None
    bank_card: str | None = None
    mother: PersonIdentity | None = None
    father: PersonIdentity | None = None


@dataclass(frozen=True)
class CheckedPerson:
    name: str
    relation: str
    sex: Sex
    birth_date: date
    resident_id: ResidentId | None
    phone: str | None  # E.164
    bank_card: str | None


def check_new_person(person: NewPerson, today: date) -> CheckedPerson:
    name = person.name.strip()
    if not name:
        raise FieldError("name", "A name is required.", "姓名不能为空。")
    if person.relation not in RELATIONS:
        raise FieldError("relation", f"Relation must be one of {sorted(RELATIONS)}.", "与户主关系取值无效。")
    resident_id = None
    sex, birth_date = person.sex, person.birth_date
    if person.id_number:
        resident_id = check_id_agrees(person.id_number, birth_date=birth_date, sex=sex, today=today)
        sex, birth_date = resident_id.sex, resident_id.birth_date
    if sex is None or birth_date is None:
        raise FieldError("birth_date", "Without an ID number, give sex and birth date.",
                         "未提供身份证号码时，须填写性别和出生日期。")
    if birth_date > today:
        raise FieldError("birth_date", "The birth date is in the future.", "出生日期不能晚于今天。")
    for role, parent in (("mother", person.mother), ("father", person.father)):
        if parent is not None:
            _check_parent(role, parent, birth_date)
    return CheckedPerson(
        name=name,
        relation=person.relation,
        sex=sex,
        birth_date=birth_date,
        resident_id=resident_id,
        phone=normalise_mobile(person.phone) if person.phone else None,
        bank_card=normalise_bank_card(person.bank_card) if person.bank_card else None,
    )


def _check_parent(role: str, parent: PersonIdentity, child_born: date) -> None:
    field = f"{role}_id"
    expected = Sex.FEMALE if role == "mother" else Sex.MALE
    if parent.sex is not expected:
        raise FieldError(field, f"The {role} must be {expected.value}.", "母亲须为女性。" if role == "mother"
                         else "父亲须为男性。")
    if parent.birth_date >= child_born:
        raise FieldError(field, f"A child cannot be older than its {role}.", "子女不能比父母年长。")


@dataclass(frozen=True)
class NewLifeEvent:
    kind: LifeEventKind
    effective_date: date
    payload: dict[str, Any]


def check_life_event(
    event: NewLifeEvent, *, subject: PersonIdentity | None, death_date: date | None, today: date
) -> dict[str, Any]:
    """Check a life event against its subject; returns the payload to store."""
    if event.effective_date > today:
        raise FieldError("effective_date", "The effective date is in the future.", "生效日期不能晚于今天。")
    if subject is not None:
        if event.effective_date < subject.birth_date:
            raise FieldError("effective_date", "The event is dated before the person's birth.",
                             "事件日期早于此人的出生日期。")
        if death_date is not None and event.kind is not LifeEventKind.RETRACTED and event.effective_date > death_date:
            raise FieldError("effective_date", "The person had died before this date.", "此人在该日期之前已去世。")
    check = _PAYLOAD_CHECKS.get(event.kind)
    return check(event.payload) if check else {}


def _grade(payload: dict[str, Any]) -> dict[str, Any]:
    grade = payload.get("grade")
    if grade is not None and grade not in (1, 2, 3, 4):
        raise FieldError("grade", "The disability grade is 1 to 4 (or null when withdrawn).", "残疾等级应为1至4级。")
    return {"grade": grade}


def _low_income(payload: dict[str, Any]) -> dict[str, Any]:
    try:
        kind = LowIncomeKind(payload.get("low_income_kind"))
    except ValueError as exc:
        raise FieldError("low_income_kind", "Low-income kind must be dibao or tekun.",
                         "低收入类别应为低保或特困。") from exc
    return {"kind": kind.value, "in_force": bool(payload.get("in_force", True))}


def _certificate(payload: dict[str, Any]) -> dict[str, Any]:
    number = str(payload.get("certificate_number") or "").strip()
    if not number:
        raise FieldError("certificate_number", "The certificate number is required.", "请填写证书编号。")
    return {"number": number}


def _spouse(payload: dict[str, Any]) -> dict[str, Any]:
    if not payload.get("spouse_id"):
        raise FieldError("spouse_id", "The spouse is required.", "请指定配偶。")
    return {"spouse_id": str(payload["spouse_id"])}


def _adoption(payload: dict[str, Any]) -> dict[str, Any]:
    if not payload.get("parent_id") or payload.get("role") not in ("mother", "father"):
        raise FieldError("parent_id", "An adoption names the adoptive parent and role (mother/father).",
                         "收养须指明收养人及其身份（母亲/父亲）。")
    return {"parent_id": str(payload["parent_id"]), "role": payload["role"]}


def _moved_out(payload: dict[str, Any]) -> dict[str, Any]:
    return {"to_division_code": payload.get("to_division_code")}


def _residence(payload: dict[str, Any]) -> dict[str, Any]:
    return {"residence_division_code": payload.get("residence_division_code")}


_PAYLOAD_CHECKS = {
    LifeEventKind.DISABILITY_ASSESSED: _grade,
    LifeEventKind.LOW_INCOME_CHANGED: _low_income,
    LifeEventKind.CERTIFICATE_ISSUED: _certificate,
    LifeEventKind.CERTIFICATE_REVOKED: _certificate,
    LifeEventKind.MARRIAGE: _spouse,
    LifeEventKind.DIVORCE: _spouse,
    LifeEventKind.ADOPTED: _adoption,
    LifeEventKind.MOVED_OUT: _moved_out,
    LifeEventKind.RESIDENCE_CHANGED: _residence,
}
