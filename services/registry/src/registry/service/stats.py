"""Counting a region for a year; the domain (`registry.domain.stats`) makes the counts publishable.

What is counted, and from what:
  * households: every household registered in the region or living in it (the jurisdiction rule);
    categories from the `household_facts` projection, i.e. as the facts stand now (as of each
    household's latest change), whatever the year asked;
  * persons by age band: persons of those households (by the household they are registered in now)
    who were alive on the reference day (31 December of the year, or today), merged records excluded;
  * births: persons of those households born in the year (up to the reference day), by sex, whether or
    not they are still alive.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.tables import HouseholdFactsRecord, HouseholdRecord, PersonRecord
from registry.domain.stats import AGE_BANDS, HOUSEHOLD_CATEGORIES, birth_window, year_births
from registry.service.search import households_under


@dataclass(frozen=True)
class RegionCounts:
    households: int
    categories: dict[str, int]
    persons: int
    age_bands: dict[str, int]
    boys: int
    girls: int


async def count_region(session: AsyncSession, prefix: str, year: int, on: date) -> RegionCounts:
    facts = HouseholdFactsRecord.facts
    household_row = (await session.execute(
        select(func.count(),
               *(func.count().filter(facts[key].astext == "true") for key in HOUSEHOLD_CATEGORIES))
        .select_from(HouseholdRecord)
        .outerjoin(HouseholdFactsRecord, HouseholdFactsRecord.household_id == HouseholdRecord.id)
        .where(households_under(prefix)))).one()

    alive = and_(PersonRecord.birth_date <= on,
                 or_(PersonRecord.death_date.is_(None), PersonRecord.death_date > on))
    band_counts = [
        func.count().filter(alive, PersonRecord.birth_date <= w.born_by,
                            *([] if w.born_after is None else [PersonRecord.birth_date > w.born_after]))
        for w in (birth_window(band, on) for band in AGE_BANDS)
    ]
    first, last = year_births(year, on)
    born = and_(PersonRecord.birth_date >= first, PersonRecord.birth_date <= last)
    person_row = (await session.execute(
        select(func.count().filter(alive), *band_counts,
               func.count().filter(born, PersonRecord.sex == "male"),
               func.count().filter(born, PersonRecord.sex == "female"))
        .select_from(PersonRecord)
        .join(HouseholdRecord, HouseholdRecord.id == PersonRecord.household_id)
        .where(PersonRecord.merged_into.is_(None), households_under(prefix)))).one()

    bands = list(person_row[1:1 + len(AGE_BANDS)])
    return RegionCounts(
        households=household_row[0],
        categories=dict(zip(HOUSEHOLD_CATEGORIES, household_row[1:], strict=True)),
        persons=person_row[0],
        age_bands={band.label: count for band, count in zip(AGE_BANDS, bands, strict=True)},
        boys=person_row[-2],
        girls=person_row[-1],
    )
