"""`GET /v1/search/persons`: find persons in your jurisdiction by name, pinyin, ID number or certificate
number. Identifiers in the results are always masked (unmask one person at `GET /v1/persons/{id}`)."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import PageDep, UowDep
from carekit.http.pagination import Page, next_cursor
from carekit.http.problems import PROBLEM_RESPONSES
from registry.api.deps import VaultDep
from registry.api.schemas import ID_NUMBER, NOT_BLANK
from registry.domain.errors import FieldError
from registry.domain.identity import parse_resident_id
from registry.domain.model import Sex
from registry.service.persons import id_index
from registry.service.pii_reads import identifiers
from registry.service.search import PersonQuery, search_persons

router = APIRouter(prefix="/v1/search", tags=["search"], responses=PROBLEM_RESPONSES)
# What `normalise_pinyin` can read: a Latin letter (ü included) or a Chinese character somewhere.
PINYIN = r"[A-Za-zÜü\u3400-\u9fff]"
Searcher = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.ADMIN, Role.AUDITOR))]


class PersonHitPublic(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    division_code: str
    residence_division_code: str | None
    name: str
    sex: Sex
    birth_date: date
    relation: str
    death_date: date | None
    id_number: str | None = Field(description="Masked: 360702********123X")
    phone: str | None = Field(description="Masked: 138****5678")
    exact_name: bool = Field(description="The name matched exactly (listed before prefix matches)")


@router.get("/persons", response_model=Page[PersonHitPublic],
            summary="Search persons in your jurisdiction by name, pinyin, ID number or certificate number",
            description="Give at least one of `name`, `pinyin`, `id_number`, `certificate_number` (else 422); "
                        "every one given must match.")
async def search(
    principal: Searcher, uow: UowDep, vault: VaultDep, page: PageDep, request: Request,
    name: Annotated[str | None, Query(min_length=1, max_length=64, pattern=NOT_BLANK,
                                      description="Exact name or its beginning")] = None,
    pinyin: Annotated[str | None, Query(
        min_length=1, max_length=128, pattern=PINYIN,
        description="Pinyin beginning: \"wang xiao\", \"wangxiao\" or initials \"wxh\" (Chinese characters "
                    "are turned into pinyin); at least one Latin letter or Chinese character")] = None,
    id_number: Annotated[str | None, Query(min_length=18, max_length=32, pattern=ID_NUMBER,
                                           description="Resident ID number, exact (a wrong check character "
                                                       "or birth date is a 422 naming id_number)")] = None,
    certificate_number: Annotated[str | None, Query(
        min_length=1, max_length=64, pattern=NOT_BLANK,
        description="Honour certificate number, exact: the members of the household holding it")] = None,
) -> Page[PersonHitPublic]:
    if not any(value and value.strip() for value in (name, pinyin, id_number, certificate_number)):
        raise FieldError("name", "Give at least one of name, pinyin, id_number, certificate_number.",
                         "请至少填写姓名、拼音、身份号码或证书编号之一。")
    index = id_index(vault, parse_resident_id(id_number).number) if id_number else None
    query = PersonQuery(name=name, pinyin=pinyin, id_number_index=index,
                        certificate_number=certificate_number)
    hits = await search_persons(uow.session, principal, query, limit=page.limit, after=page.after)
    items = []
    for hit in hits:
        masked = await identifiers(uow, vault, principal, hit.person, reveal=False, purpose=None)
        items.append(PersonHitPublic(
            id=hit.person.id, household_id=hit.household.id, division_code=hit.household.division_code,
            residence_division_code=hit.household.residence_division_code, name=hit.person.name,
            sex=hit.person.sex, birth_date=hit.person.birth_date, relation=hit.person.relation,
            death_date=hit.person.death_date, id_number=masked.id_number, phone=masked.phone,
            exact_name=bool(name and name.strip()) and hit.rank == 0))
    ranks = {hit.person.id: hit.rank for hit in hits}
    return Page(items=items, next_cursor=next_cursor(
        request, items, page.limit, lambda item: {"rank": ranks[item.id], "id": str(item.id)}))
