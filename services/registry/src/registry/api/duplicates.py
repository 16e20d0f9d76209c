"""Probable duplicates (same name, birth date and village, at least one without an ID number) and merging.

After a merge the merged record is a tombstone pointing at the kept one (`merged_into`); reads of it
answer 410 `person-merged` with the kept person's link (see `registry.api.merged`).
"""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import PageDep, UowDep
from carekit.http.pagination import Page, next_cursor
from carekit.http.problems import PROBLEM_RESPONSES, ProblemError
from registry.api.deps import Caseworker, TodayDep, VaultDep
from registry.api.persons import load_person
from registry.domain.model import Sex
from registry.service.duplicates import MergeRefused, duplicate_groups, merge_persons
from registry.service.pii_reads import identifiers

router = APIRouter(prefix="/v1/duplicates", tags=["duplicates"], responses=PROBLEM_RESPONSES)
Lister = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.ADMIN, Role.AUDITOR))]


class DuplicatePersonPublic(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    sex: Sex
    relation: str
    death_date: date | None
    id_number: str | None = Field(description="Masked; null for a record without an ID number")


class DuplicateGroupPublic(BaseModel):
    village: str = Field(description="Division code of the households the records are registered in")
    name: str
    birth_date: date
    persons: list[DuplicatePersonPublic]


class MergeCreate(BaseModel):
    keep: uuid.UUID = Field(description="The record that stays")
    merge: uuid.UUID = Field(description="The duplicate record folded into `keep`")
    reason: str = Field(min_length=4, max_length=500, pattern=r"\S(?:\s*\S){3}",
                        description="Why they are one person (at least 4 characters besides spaces)")


class MergePublic(BaseModel):
    kept: uuid.UUID
    merged: uuid.UUID
    moved_identifiers: list[str] = Field(description="Identifiers the kept record took from the merged one")
    relinked_children: list[uuid.UUID] = Field(description="Children now linked to the kept record")
    retracted_events: list[uuid.UUID] = Field(description="The merged record's entry events, now retracted")
    households: list[uuid.UUID] = Field(description="Households whose facts were recomputed")


def _refused(exc: MergeRefused) -> ProblemError:
    return ProblemError(409, exc.slug, "Merge refused", exc.detail, "无法合并", exc.detail_zh,
                        extensions=exc.extensions)


@router.get("", response_model=Page[DuplicateGroupPublic],
            summary="Probable duplicates in your jurisdiction: same name, birth date and village, "
                    "at least one without an ID number")
async def list_duplicates(principal: Lister, uow: UowDep, vault: VaultDep, page: PageDep,
                          request: Request) -> Page[DuplicateGroupPublic]:
    groups = await duplicate_groups(uow.session, principal, limit=page.limit,
                                    after=str(page.after["first"]) if page.after else None)
    items = []
    for group in groups:
        persons = []
        for person, household in group.persons:
            masked = await identifiers(uow, vault, principal, person, reveal=False, purpose=None)
            persons.append(DuplicatePersonPublic(id=person.id, household_id=household.id, sex=person.sex,
                                                 relation=person.relation, death_date=person.death_date,
                                                 id_number=masked.id_number))
        items.append(DuplicateGroupPublic(village=group.village, name=group.name, birth_date=group.birth_date,
                                          persons=persons))
    keys = [group.key for group in groups]
    return Page(items=items, next_cursor=next_cursor(request, keys, page.limit, lambda key: {"first": key}))


@router.post("/merge", response_model=MergePublic,
             summary="Merge a duplicate into the person kept (history kept; 409 if data would be lost)")
async def merge(body: MergeCreate, principal: Caseworker, uow: UowDep, today: TodayDep) -> MergePublic:
    # Lock both rows in one order, so two merges of the same pair cannot deadlock.
    locked = {pid: await load_person(uow, principal, pid, lock=True, allow_merged=True)
              for pid in sorted({body.keep, body.merge})}
    try:
        result = await merge_persons(uow, principal, locked[body.keep], locked[body.merge],
                                     body.reason.strip(), today)
    except MergeRefused as exc:
        raise _refused(exc) from exc
    public = MergePublic(kept=result.kept.id, merged=result.merged.id,
                         moved_identifiers=result.moved_identifiers,
                         relinked_children=result.relinked_children,
                         retracted_events=result.retracted_events, households=result.households)
    await uow.commit()
    return public
