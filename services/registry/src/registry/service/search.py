"""Searching persons within the caller's jurisdiction: by name (exact or prefix), pinyin (full syllables,
joined or initials), ID number (exact, through the blind index) and certificate number (exact).

Jurisdiction is the same rule as for reading a household: its hukou division code or the division
code where it lives (migrants, 同服务) starts with the caller's region. Merged persons (duplicates
folded into another record) are never found: the person they were merged into is.
"""

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.auth.principal import Principal
from registry.db.tables import CertificateRecord, HouseholdRecord, PersonRecord
from registry.domain.errors import FieldError
from registry.domain.jurisdiction import EVERYWHERE, area_of
from registry.service.names import pinyin_of


def households_under(prefix: str) -> ColumnElement[bool]:
    """Households registered in, or living in, the region `prefix`."""
    return or_(HouseholdRecord.division_code.startswith(prefix, autoescape=True),
               HouseholdRecord.residence_division_code.startswith(prefix, autoescape=True))


def visible_households(principal: Principal) -> ColumnElement[bool]:
    """The SQL form of `registry.service.households.visible_to` (see `registry.domain.jurisdiction`)."""
    area = area_of(principal)
    if area is None:
        return false()
    if area == EVERYWHERE:
        return true()
    return households_under(area)


@dataclass(frozen=True)
class PersonQuery:
    name: str | None = None
    pinyin: str | None = None
    id_number_index: str | None = None
    certificate_number: str | None = None


@dataclass(frozen=True)
class PersonHit:
    person: PersonRecord
    household: HouseholdRecord
    rank: int  # 0: the name matched exactly (or no name was asked); 1: a prefix match


_NOT_LETTERS = re.compile(r"[^a-z ]+")


def normalise_pinyin(raw: str) -> str:
    """"Wang  Xiao" → "wang xiao"; "lü"/"lu:" → "lv" (as pypinyin writes it); Chinese → its pinyin
    (so 王晓 finds 王小红 too: homophones are what pinyin search is for); apostrophes split syllables."""
    text = raw.strip().lower().replace("ü", "v").replace("u:", "v")
    if not text.isascii():
        text = pinyin_of(text)
    text = " ".join(_NOT_LETTERS.sub(" ", text).split())
    if not text:
        raise FieldError("pinyin", "Give some pinyin letters, e.g. \"wang xiao\" or \"wxh\".",
                         "请输入拼音字母，如“wang xiao”或“wxh”。")
    return text


def _pinyin_clause(query: str) -> ColumnElement[bool]:
    """Syllables match with or without the spaces between them ("ouyang ming" finds 欧阳明, stored as
    "ou yang ming"); a single word may also be the initials ("oym")."""
    joined = func.replace(PersonRecord.name_pinyin, " ", "")
    syllables = joined.startswith(query.replace(" ", ""), autoescape=True)
    if " " in query:
        return syllables
    return or_(syllables, PersonRecord.name_initials.startswith(query, autoescape=True))


async def search_persons(session: AsyncSession, principal: Principal, query: PersonQuery, *, limit: int,
                         after: dict[str, Any] | None) -> list[PersonHit]:
    """Persons matching every criterion given, exact name matches first, then by id."""
    conditions: list[ColumnElement[bool]] = [PersonRecord.merged_into.is_(None),
                                             visible_households(principal)]
    rank: ColumnElement[int] | None = None  # ordered by id alone when no name is asked
    name = (query.name or "").strip()
    if name:
        conditions.append(PersonRecord.name.startswith(name, autoescape=True))
        rank = case((PersonRecord.name == name, 0), else_=1)
    if query.pinyin is not None:
        conditions.append(_pinyin_clause(normalise_pinyin(query.pinyin)))
    if query.id_number_index:
        conditions.append(PersonRecord.id_number_index == query.id_number_index)
    if query.certificate_number:
        # The Only-Child Parents' Honour Certificate belongs to the household: its members are found.
        holders = select(CertificateRecord.household_id).where(
            CertificateRecord.number == query.certificate_number.strip())
        conditions.append(PersonRecord.household_id.in_(holders))
    if after:
        last_rank, last_id = int(after.get("rank", 0)), uuid.UUID(str(after["id"]))
        conditions.append(PersonRecord.id > last_id if rank is None else
                          or_(rank > last_rank, and_(rank == last_rank, PersonRecord.id > last_id)))
    columns: list[Any] = [PersonRecord, HouseholdRecord] + ([] if rank is None else [rank])
    stmt = (select(*columns)
            .join(HouseholdRecord, HouseholdRecord.id == PersonRecord.household_id)
            .where(*conditions)
            .order_by(*([] if rank is None else [rank]), PersonRecord.id)
            .limit(limit))
    rows = (await session.execute(stmt)).all()
    return [PersonHit(row[0], row[1], int(row[2]) if rank is not None else 0) for row in rows]
