"""`GET /v1/stats?region=&year=`: households by category, persons by age band, births by sex and the birth
sex ratio, for a region inside yours. Every cell under 5 is published as null with `suppressed: true`
(see `registry.domain.stats`)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, not_found
from registry.api.deps import DivisionsDep, TodayDep
from registry.api.schemas import REGION
from registry.domain.divisions import CODE_LENGTH, check_prefix, code_of_prefix, region_prefix
from registry.domain.errors import FieldError
from registry.domain.jurisdiction import area_of, covers
from registry.domain.stats import (
    AGE_BANDS,
    EARLIEST_YEAR,
    HOUSEHOLD_CATEGORIES,
    SUPPRESSION_THRESHOLD,
    Cell,
    additive_group,
    cell,
    reference_day,
    sex_ratio,
)
from registry.service.stats import count_region

router = APIRouter(prefix="/v1/stats", tags=["statistics"], responses=PROBLEM_RESPONSES)
StatsReader = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.ADMIN, Role.AUDITOR))]


class CellPublic(BaseModel):
    value: int | None = Field(description="null when suppressed")
    suppressed: bool


class RatioPublic(BaseModel):
    value: float | None = Field(description="Boys per 100 girls; null when suppressed")
    suppressed: bool


class HouseholdCategoriesPublic(BaseModel):
    only_child: CellPublic
    single_daughter: CellPublic
    two_daughters: CellPublic
    bereaved: CellPublic
    disabled_only_child: CellPublic
    migrant: CellPublic
    low_income: CellPublic
    certificate_held: CellPublic


class HouseholdStatsPublic(BaseModel):
    total: CellPublic
    by_category: HouseholdCategoriesPublic


class AgeBandPublic(BaseModel):
    band: str
    min_age: int
    max_age: int | None
    count: CellPublic


class PersonStatsPublic(BaseModel):
    total: CellPublic = Field(description="Living on the reference day; suppressed when any band is")
    by_age_band: list[AgeBandPublic]


class BirthStatsPublic(BaseModel):
    total: CellPublic = Field(description="Suppressed when boys or girls are")
    boys: CellPublic
    girls: CellPublic
    sex_ratio: RatioPublic


class StatsPublic(BaseModel):
    region: str
    year: int
    as_of: date = Field(description="Reference day: 31 December of the year, or today for the current year")
    suppression_threshold: int
    households: HouseholdStatsPublic = Field(description="As the household facts stand now")
    persons: PersonStatsPublic
    births: BirthStatsPublic


def _cell(c: Cell) -> CellPublic:
    return CellPublic(value=c.value, suppressed=c.suppressed)


def _region(raw: str | None, principal: Principal, divisions: DivisionsDep) -> str:
    area = area_of(principal)
    if raw is None:
        if not area:
            raise FieldError("region", "Give the region to count.", "请指定统计区域。")
        raw = area
    prefix = check_prefix(raw.strip())
    if len(prefix) == CODE_LENGTH:
        prefix = region_prefix(prefix)  # 360702000000 → 360702
    if code_of_prefix(prefix) not in divisions:
        raise FieldError("region", f"Region {prefix} is not in the division code table.",
                         f"区域{prefix}不在区划代码表中。")
    if not covers(principal, prefix):
        raise not_found("region", "区域")
    return prefix


@router.get("", response_model=StatsPublic,
            summary="Statistics of a region for a year (small cells suppressed)")
async def get_stats(
    principal: StatsReader, uow: UowDep, divisions: DivisionsDep, today: TodayDep,
    region: Annotated[str | None, Query(pattern=REGION, description="Division code prefix (2, 4, 6, 9 or 12 "
                                        "digits) inside your region; default yours", examples=["360702"])] = None,
    year: Annotated[int | None, Query(ge=EARLIEST_YEAR, le=9999,
                                      description="Default: the current year (a future year is a 422)")] = None,
) -> StatsPublic:
    prefix = _region(region, principal, divisions)
    year = today.year if year is None else year
    on = reference_day(year, today)
    counts = await count_region(uow.session, prefix, year, on)
    bands, persons_total = additive_group(counts.age_bands, counts.persons)
    sexes, births_total = additive_group({"boys": counts.boys, "girls": counts.girls},
                                         counts.boys + counts.girls)
    ratio = sex_ratio(sexes["boys"], sexes["girls"])
    return StatsPublic(
        region=prefix, year=year, as_of=on, suppression_threshold=SUPPRESSION_THRESHOLD,
        households=HouseholdStatsPublic(
            total=_cell(cell(counts.households)),
            by_category=HouseholdCategoriesPublic(**{key: _cell(cell(counts.categories[key]))
                                                     for key in HOUSEHOLD_CATEGORIES})),
        persons=PersonStatsPublic(total=_cell(persons_total), by_age_band=[
            AgeBandPublic(band=band.label, min_age=band.min_age, max_age=band.max_age,
                          count=_cell(bands[band.label])) for band in AGE_BANDS]),
        births=BirthStatsPublic(total=_cell(births_total), boys=_cell(sexes["boys"]),
                                girls=_cell(sexes["girls"]),
                                sex_ratio=RatioPublic(value=ratio.value, suppressed=ratio.suppressed)),
    )
