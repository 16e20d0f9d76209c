"""Probable duplicates (same name, birth date and village, at least one without an ID number) and
merging two records of one person.

What a merge does (`merge_persons`), in one transaction:
  * the merged record gets `merged_into` = the kept one; both rows stay, and so do all life events;
  * identifiers the kept record lacks (ID number with its blind index, phone, bank card) move to it,
    so that an ID-number search finds the kept person;
  * parent links move: children of the merged record become children of the kept one, and the kept
    record takes a mother/father link it lacks from the merged one;
  * the merged record stops counting anywhere: its entry events (birth, registered, moved in) are
    retracted (a new `retracted` event each, source "merge", with the reason, the kept id and the
    parent links the merged record had; the original events stay), and its own parent links are
    cleared (kept in those retraction payloads), so that no household counts it as a member, parent
    or child, on any day;
  * facts of every household either record touched are recomputed (and a facts row left for a
    household that no longer has a head or spouse is removed); `registry.person.updated` goes out for
    both records and for every child whose parent link moved.

A merge is refused (409) when both records have ID numbers (they differ: the number is unique, so
they are two people), when either is already merged, when the ID number would move to a record whose
birth date or sex disagrees with it, and when the merged record has life events in force (death,
disability, low income, marriage…) that the kept one lacks, or is the adoptive parent in someone's
adoption in force: those would be lost. Record them on the kept person first (same kind, date and
values), then merge. Merging a person with their own parent or child is a 422.
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Text, cast, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from carekit.auth.principal import Principal
from carekit.db.uow import UnitOfWork
from registry.db import repository
from registry.db.tables import HouseholdRecord, LifeEventRecord, PersonRecord
from registry.domain.errors import FieldError
from registry.domain.history import ENTRY_KINDS, LifeEventKind, in_force
from registry.events.outgoing import PERSON_UPDATED, registry_event
from registry.service.facts import refresh_facts
from registry.service.mapping import life_event
from registry.service.persons import person_event_data
from registry.service.search import visible_households

MERGE_SOURCE = "merge"
_MEMBERSHIP_KINDS = ENTRY_KINDS | {LifeEventKind.MOVED_OUT}


class MergeRefused(Exception):
    """A merge that would lose or confuse data; answered 409 with `slug` and the extensions."""

    def __init__(self, slug: str, detail: str, detail_zh: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.slug, self.detail, self.detail_zh, self.extensions = slug, detail, detail_zh, extensions


@dataclass(frozen=True)
class DuplicateGroup:
    key: str  # the smallest person id in the group: a stable cursor position that names nobody
    village: str
    name: str
    birth_date: date
    persons: list[tuple[PersonRecord, HouseholdRecord]]


async def duplicate_groups(session: AsyncSession, principal: Principal, *, limit: int,
                           after: str | None) -> list[DuplicateGroup]:
    """Groups of unmerged persons in the caller's region sharing name, birth date and the division code
    of their household (the village), at least one of them without an ID number."""
    village = HouseholdRecord.division_code
    first = func.min(cast(PersonRecord.id, Text))
    members = func.array_agg(PersonRecord.id)
    stmt = (select(village, PersonRecord.name, PersonRecord.birth_date, first, members)
            .join(HouseholdRecord, HouseholdRecord.id == PersonRecord.household_id)
            .where(PersonRecord.merged_into.is_(None), visible_households(principal))
            .group_by(village, PersonRecord.name, PersonRecord.birth_date)
            .having(func.count() > 1, func.count().filter(PersonRecord.id_number_index.is_(None)) > 0))
    if after is not None:
        stmt = stmt.having(first > after)
    rows = (await session.execute(stmt.order_by(first).limit(limit))).all()
    ids = [person_id for row in rows for person_id in row[4]]
    found = {person.id: (person, household) for person, household in (await session.execute(
        select(PersonRecord, HouseholdRecord)
        .join(HouseholdRecord, HouseholdRecord.id == PersonRecord.household_id)
        .where(PersonRecord.id.in_(ids)))).all()} if ids else {}
    return [DuplicateGroup(key, code, name, born, [found[i] for i in sorted(members, key=str)])
            for code, name, born, key, members in rows]


@dataclass
class MergeResult:
    kept: PersonRecord
    merged: PersonRecord
    moved_identifiers: list[str] = field(default_factory=list)
    relinked_children: list[uuid.UUID] = field(default_factory=list)
    retracted_events: list[uuid.UUID] = field(default_factory=list)
    households: list[uuid.UUID] = field(default_factory=list)


async def merge_persons(uow: UnitOfWork, principal: Principal, keep: PersonRecord, merge: PersonRecord,
                        reason: str, today: date) -> MergeResult:
    """Merge `merge` into `keep` (both loaded, locked and checked to be in the caller's region)."""
    session = uow.session
    _check_pair(keep, merge)
    merge_events = [life_event(e) for e in await repository.events_of(session, person_id=merge.id)]
    keep_events = [life_event(e) for e in await repository.events_of(session, person_id=keep.id)]
    await _check_nothing_lost(session, merge, merge_events, keep_events)

    touched = (await _households_of(session, merge)) | (await _households_of(session, keep))
    result = MergeResult(keep, merge)
    old_links = {"mother_id": _str(merge.mother_id), "father_id": _str(merge.father_id)}

    await _move_identifiers(session, keep, merge, result)
    keep.mother_id = keep.mother_id or merge.mother_id
    keep.father_id = keep.father_id or merge.father_id
    children = list((await session.execute(select(PersonRecord).where(
        (PersonRecord.mother_id == merge.id) | (PersonRecord.father_id == merge.id)))).scalars())
    for child in children:
        if child.mother_id == merge.id:
            child.mother_id = keep.id
        if child.father_id == merge.id:
            child.father_id = keep.id
        child.version += 1
        session.add(child)
        result.relinked_children.append(child.id)
    merge.mother_id = merge.father_id = None
    merge.merged_into = keep.id
    merge.version += 1
    keep.version += 1
    session.add_all([keep, merge])
    await session.flush()

    for event in in_force(merge_events):
        if event.kind in ENTRY_KINDS:
            record = LifeEventRecord(
                id=uuid.uuid4(), household_id=uuid.UUID(event.household_id), person_id=merge.id,
                kind=LifeEventKind.RETRACTED.value, effective_date=today, recorded_by=principal.sub,
                source=MERGE_SOURCE, supersedes=uuid.UUID(event.id),
                payload={"merged_into": str(keep.id), "reason": reason, **old_links})
            session.add(record)
            result.retracted_events.append(record.id)
    await session.flush()

    touched |= await _households_of(session, keep)
    await refresh_facts(uow, touched, today)  # also drops the facts of a household left without a family
    result.households = sorted(touched)

    await _announce(uow, merge, {"merged_into": str(keep.id)})
    await _announce(uow, keep, {"merged_person_id": str(merge.id),
                                "moved_identifiers": result.moved_identifiers})
    for child in children:
        await _announce(uow, child, {"relinked_from": str(merge.id)})
    return result


def _check_pair(keep: PersonRecord, merge: PersonRecord) -> None:
    if keep.id == merge.id:
        raise FieldError("merge", "A person cannot be merged into themselves.", "不能将人员与其自身合并。")
    if keep.id in (merge.mother_id, merge.father_id) or merge.id in (keep.mother_id, keep.father_id):
        raise FieldError("merge", "A person cannot be merged with their own parent or child.",
                         "不能将人员与其父母或子女合并。")
    for record in (keep, merge):
        if record.merged_into is not None:
            raise MergeRefused("already-merged",
                               f"Person {record.id} was already merged into another record.",
                               f"人员{record.id}已合并到其他记录。", person_id=str(record.id),
                               merged_into=f"/v1/persons/{record.merged_into}")
    if keep.id_number_index and merge.id_number_index:
        raise MergeRefused("different-id-numbers",
                           "Both persons have resident ID numbers, and they differ: they are two people.",
                           "两人均有公民身份号码且号码不同，不是同一人。")
    if merge.id_number_index and (keep.birth_date, keep.sex) != (merge.birth_date, merge.sex):
        raise MergeRefused("id-number-disagrees",
                           "The merged person's ID number would move to the kept person, but their birth "
                           "date or sex disagrees with it. Merge the other way round, or re-register the "
                           "kept person.",
                           "被合并人员的身份号码将转给保留人员，但保留人员的出生日期或性别与号码不符。"
                           "请反向合并，或重新登记保留人员。")


async def _check_nothing_lost(session: AsyncSession, merge: PersonRecord, merge_events: list,
                              keep_events: list) -> None:
    have = {_signature(e) for e in in_force(keep_events)}
    missing = [e for e in in_force(merge_events)
               if e.kind not in _MEMBERSHIP_KINDS and _signature(e) not in have]
    later = aliased(LifeEventRecord)
    adoptions = list((await session.execute(select(LifeEventRecord.id).where(
        LifeEventRecord.kind == LifeEventKind.ADOPTED.value,
        LifeEventRecord.payload["parent_id"].astext == str(merge.id),
        ~exists().where(later.supersedes == LifeEventRecord.id)))).scalars())
    if missing or adoptions:
        raise MergeRefused(
            "merge-would-lose-events",
            "The merged person has life events the kept person lacks (or is an adoptive parent in an "
            "adoption in force). Record them on the kept person first (same kind, date and values), "
            "then merge.",
            "被合并人员有保留人员没有的生活事件（或是某收养关系中的收养人），请先在保留人员上登记相同的事件后再合并。",
            events=[str(e.id) for e in missing] + [str(i) for i in adoptions],
            kinds=sorted({e.kind.value for e in missing} | ({"adopted"} if adoptions else set())))


def _signature(event: Any) -> tuple[str, date, str]:
    payload = json.dumps(dict(event.payload), sort_keys=True, default=str)
    return event.kind.value, event.effective_date, payload


async def _move_identifiers(session: AsyncSession, keep: PersonRecord, merge: PersonRecord,
                            result: MergeResult) -> None:
    if merge.id_number_cipher is not None and keep.id_number_cipher is None:
        index, merge.id_number_index = merge.id_number_index, None
        session.add(merge)
        await session.flush()  # the blind index is unique: free it before the kept record takes it
        keep.id_number_cipher, keep.id_number_key_id, keep.id_number_index = (
            merge.id_number_cipher, merge.id_number_key_id, index)
        merge.id_number_cipher = merge.id_number_key_id = None
        result.moved_identifiers.append("id_number")
    if merge.phone_cipher is not None and keep.phone_cipher is None:
        keep.phone_cipher, keep.phone_key_id = merge.phone_cipher, merge.phone_key_id
        merge.phone_cipher = merge.phone_key_id = None
        result.moved_identifiers.append("phone")
    if merge.bank_account_cipher is not None and keep.bank_account_cipher is None:
        keep.bank_account_cipher = merge.bank_account_cipher
        keep.bank_account_key_id = merge.bank_account_key_id
        merge.bank_account_cipher = merge.bank_account_key_id = None
        result.moved_identifiers.append("bank_card")


async def _households_of(session: AsyncSession, person: PersonRecord) -> set[uuid.UUID]:
    """Households whose facts depend on the person: theirs, their parents', any they were ever entered in."""
    affected = await repository.households_of_parents(session, person)
    ever = await session.execute(select(LifeEventRecord.household_id)
                                 .where(LifeEventRecord.person_id == person.id))
    return affected | set(ever.scalars())


async def _announce(uow: UnitOfWork, person: PersonRecord, extra: dict[str, Any]) -> None:
    household = await repository.household(uow.session, person.household_id)
    uow.emit(registry_event(PERSON_UPDATED, str(person.id), {**person_event_data(person, household),
                                                               "kind": "merged", **extra}))


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None
