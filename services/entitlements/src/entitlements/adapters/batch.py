"""Running the population path: execute a compiled batch query (domain/sql_compiler.py) on the
entitlements database, and map `person_facts` rows to and from the domain's `FactsRow`."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from entitlements.domain.facts_catalogue import FactsRow
from entitlements.domain.policy import CheckedPolicy
from entitlements.domain.sql_compiler import BatchQuery, compile_batch


@dataclass(frozen=True)
class BatchLine:
    subject_id: str
    household_id: str
    division_code: str
    residence_division_code: str | None
    amount: int


async def run_query(db: AsyncConnection | AsyncSession, query: BatchQuery) -> list[BatchLine]:
    result = await db.execute(text(query.sql), query.params)
    return [BatchLine(subject_id=r.subject_id, household_id=r.household_id, division_code=r.division_code,
                      residence_division_code=r.residence_division_code, amount=int(r.amount))
            for r in result]


async def eligible_population(db: AsyncConnection | AsyncSession, checked: CheckedPolicy,
                              as_of: date) -> list[BatchLine]:
    """Every eligible subject of a (batch-capable) policy on `as_of`, by one SQL query."""
    return await run_query(db, compile_batch(checked, as_of))


_UUID_COLUMNS = ("person_id", "household_id", "mother_id", "father_id")


def record_values(row: FactsRow) -> dict[str, Any]:
    """A FactsRow as `person_facts` column values."""
    values = dataclasses.asdict(row)
    for column in _UUID_COLUMNS:
        if values[column] is not None:
            values[column] = uuid.UUID(str(values[column]))
    values["low_income_kinds"] = list(row.low_income_kinds)
    return values


def facts_row(record: Any) -> FactsRow:
    """A `person_facts` row (record or mapping) as the domain's FactsRow."""
    get = record.get if isinstance(record, dict) else (lambda name: getattr(record, name))
    values = {f.name: get(f.name) for f in dataclasses.fields(FactsRow)}
    for column in _UUID_COLUMNS:
        if values[column] is not None:
            values[column] = str(values[column])
    values["low_income_kinds"] = tuple(values["low_income_kinds"] or ())
    return FactsRow(**values)
