"""The registry's API models (Create / Update / Public). Table records are never returned."""

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from registry.domain.history import PERSON_KINDS, LifeEventKind
from registry.domain.model import HukouType, LowIncomeKind, Sex

# The OpenAPI says what the server takes: ASCII digits (`\d` matches any script's digits), a province part.
DIVISION_CODE = r"^(?:0[1-9]|[1-9][0-9])[0-9]{10}$"
REGION = r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$"
NOT_BLANK = r"\S"  # at least one character that is not white space (values are stored stripped)
ID_NUMBER = r"^\s*(?:[0-9]\s*){17}[0-9Xx]\s*$"
PHONE = r"^[0-9+() -]+$"
DIVISION = Field(pattern=DIVISION_CODE, description="12-digit statistical division code", examples=["360702001001"])
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class NotADay(ValueError):
    message_zh = "日期应写作 YYYY-MM-DD。"


def _iso_day(value: object) -> object:
    """Only a YYYY-MM-DD day: pydantic would also read 0 as 1970-01-01 and a date-time at midnight as a day."""
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    raise NotADay("Give the date as YYYY-MM-DD.")


Day = Annotated[date, BeforeValidator(_iso_day)]
Relation = Literal["head", "spouse", "child", "parent", "grandchild", "sibling", "other"]


class HouseholdCreate(BaseModel):
    division_code: str = DIVISION
    hukou_type: HukouType
    address: str = Field(default="", max_length=200)
    residence_division_code: str | None = Field(default=None, pattern=DIVISION_CODE,
                                                description="Where a migrant household lives (流动人口)")
    registered_on: Day | None = Field(default=None, description="Defaults to today")


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
    name: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)
    relation: Relation = Field(description="To the head of the household")
    id_number: str | None = Field(default=None, max_length=32, pattern=ID_NUMBER,
                                  description="18-character resident ID (GB 11643); spaces are ignored")
    sex: Sex | None = None
    birth_date: Day | None = None
    phone: str | None = Field(default=None, max_length=32, pattern=PHONE,
                              description="Mainland mobile number: digits, +, spaces, hyphens, parentheses")
    bank_card: str | None = Field(default=None, max_length=32, pattern=r"^[0-9 -]+$",
                                  description="Benefit account (一卡通): 12–19 digits, spaces and hyphens ignored")
    mother_id: uuid.UUID | None = None
    father_id: uuid.UUID | None = None
    registered_on: Day | None = Field(default=None, description="Moved in on; omit if in the household since birth")


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
    effective_date: Day
    supersedes: uuid.UUID | None = Field(default=None, description="The event this one corrects or retracts")
    household_id: uuid.UUID | None = Field(default=None, description="moved_in: the household moved into")
    grade: int | None = Field(default=None, ge=1, le=4, description="disability_assessed: 1–4, null when withdrawn")
    low_income_kind: LowIncomeKind | None = None
    in_force: bool = True
    certificate_number: str | None = Field(default=None, max_length=64)
    spouse_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    role: Literal["mother", "father"] | None = Field(default=None, description="adopted: the adoptive parent's role")
    to_division_code: str | None = Field(default=None, pattern=DIVISION_CODE, description="moved_out: where to")
    residence_division_code: str | None = Field(default=None, pattern=DIVISION_CODE,
                                                description="residence_changed: where the household lives now "
                                                            "(in the code table on the effective date); null: "
                                                            "back at its hukou place")

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"kind", "effective_date", "supersedes", "household_id"})


class HouseholdEventCreate(LifeEventCreate):
    kind: Literal[LifeEventKind.RESIDENCE_CHANGED, LifeEventKind.CERTIFICATE_ISSUED,  # type: ignore[assignment]
                  LifeEventKind.CERTIFICATE_REVOKED, LifeEventKind.RETRACTED]


class PersonEventCreate(LifeEventCreate):
    kind: Literal[tuple(sorted(PERSON_KINDS))]  # type: ignore[assignment, valid-type]


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
