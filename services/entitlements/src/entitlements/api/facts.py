"""The facts catalogue: the vocabulary policy authors write criteria in."""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from carekit.auth.deps import CurrentPrincipal
from carekit.http.problems import PROBLEM_RESPONSES
from entitlements.domain.facts_catalogue import catalogue_json

router = APIRouter(prefix="/v1/facts", tags=["facts"], responses=PROBLEM_RESPONSES)


class Words(BaseModel):
    zh: str
    en: str


class FactPublic(BaseModel):
    name: str
    type: str
    nullable: bool
    meaning: Words
    example: Any
    label: Words
    unit: Words | None
    values: dict[str, Words] | None
    source: str
    date_dependent: bool


@router.get("", response_model=list[FactPublic], summary="The facts catalogue (name, type, meaning, example)")
async def list_facts(_principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Every fact a policy may read, with its type, meaning in zh and en, an example, how it is named in
    explanations, and which registry event fills it. Date-dependent facts are computed for the
    evaluation date."""
    return catalogue_json()
