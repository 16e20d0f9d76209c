"""The registry's API models (Create / Update / Public). Table records are never returned."""

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from registry.domain.history import LifeEventKind
from registry.domain.model import HukouType, LowIncomeKind, Sex

DIVISION = Field(pattern=r"^\d{12}$", description="12-digit statistical division code", examples=["360702001001"])


class HouseholdCreate(BaseModel):
    division_code: str = DIVISION
    hukou_type: HukouType
    address: str = Field(default="", max_length=200)
    residence_division_code: str | None = Field(default=None, pattern=r"^\d{12}$",
                                                description="Where a migrant household lives (流动人口)")
    registered_on: date | None = Field(default=None, description="Defaults to today")


class HouseholdUpdate(BaseModel):
    address: str = Field(max_length=200)


class MemberPublic(BaseModel):
    id: uuid.UUID
    name: str
    relation: str
    sex: Sex
    birth_date: date
    alive: bool


class HouseholdPublic(BaseModel):
    id: uuid.UUID
    division_code: str
    hukou_type: HukouType
    residence_division_code: str | None
    address: str
    status: str
    version: int
    as_of: date
    members: list[MemberPublic]


class PersonCreate(BaseModel):
    household_id: uuid.UUID
    name: str = Field(min_length=1, max_length=64)
    relation: str = Field(description="head, spouse, child, parent, grandchild, sibling or other")
    id_number: str | None = Field(default=None, max_length=32, description="18-character resident ID (GB 11643)")
    sex: Sex | None = None
    birth_date: date | None = None
    phone: str | None = Field(default=None, max_length=32, description="Mainland mobile number")
    bank_card: str | None = Field(default=None, max_length=32, description="Benefit account (一卡通)")
    mother_id: uuid.UUID | None = None
    father_id: uuid.UUID | None = None
    registered_on: date | None = Field(default=None, description="Moved in on; omit if in the household since birth")


class PersonPublic(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID | None = Field(description="The household registered in on as_of")
    name: str
    sex: Sex
    birth_date: date
    relation: str
    mother_id: uuid.UUID | None
    father_id: uuid.UUID | None
    id_number: str | None = Field(description="Masked unless revealed with a stated purpose")
    phone: str | None
    bank_card: str | None
    revealed: bool
    alive: bool
    death_date: date | None
    disability_grade: int | None
    low_income: list[LowIncomeKind]
    as_of: date
    version: int


class LifeEventCreate(BaseModel):
    kind: LifeEventKind
    effective_date: date
    supersedes: uuid.UUID | None = Field(default=None, description="The event this one corrects or retracts")
    household_id: uuid.UUID | None = Field(default=None, description="moved_in: the household moved into")
    grade: int | None = Field(default=None, description="disability_assessed: 1–4, null when withdrawn")
    low_income_kind: LowIncomeKind | None = None
    in_force: bool = True
    certificate_number: str | None = Field(default=None, max_length=64)
    spouse_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    role: str | None = Field(default=None, description="adopted: mother or father")
    to_division_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    residence_division_code: str | None = Field(default=None, pattern=r"^\d{12}$")

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"kind", "effective_date", "supersedes", "household_id"})


class LifeEventPublic(BaseModel):
    id: uuid.UUID
    kind: LifeEventKind
    effective_date: date
    recorded_at: datetime
    recorded_by: str
    source: str
    household_id: uuid.UUID
    person_id: uuid.UUID | None
    payload: dict[str, Any]
    supersedes: uuid.UUID | None


class ParentFactsPublic(BaseModel):
    person_id: uuid.UUID
    sex: Sex
    alive: bool
    age: int | None


class FactsPublic(BaseModel):
    household_id: uuid.UUID
    as_of: date
    children_ever: int
    living_children: int
    living_sons: int
    living_daughters: int
    only_child: bool
    single_daughter: bool
    two_daughters: bool
    bereaved: bool
    disabled_only_child: bool
    parents: list[ParentFactsPublic]
    youngest_child_birth_date: date | None
    hukou_type: HukouType
    migrant: bool
    low_income: bool
    low_income_kinds: list[LowIncomeKind]
    certificate_held: bool
    certificate_number: str | None


class IdentifiersBatchRequest(BaseModel):
    person_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)
    fields: list[Literal["name", "phone", "bank_card"]] = Field(max_length=3, description="Only these are answered")
    purpose: Literal["disbursement", "notification"]


class PersonIdentifiersPublic(BaseModel):
    """One person for payments or SMS. `name`, `phone`, `bank_card` are present only when requested."""

    person_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str = Field(description="12-digit division code of the person's household")
    name: str | None = None
    phone: str | None = Field(default=None, description='E.164, e.g. "+8613812345678"')
    bank_card: str | None = Field(default=None, description="Digits of the benefit account")
    alive: bool
    died_on: date | None


class IdentifiersBatchPublic(BaseModel):
    persons: list[PersonIdentifiersPublic]
    missing: list[uuid.UUID] = Field(description="Requested ids that name no person (or a merged record, or a "
                                     "person outside the region of a token that names one)")
