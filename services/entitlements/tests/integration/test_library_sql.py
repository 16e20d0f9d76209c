"""Every library policy's edge cases through the SQL path, on a real PostgreSQL: the same households
and expectations as tests/unit/test_library_policies.py (the per-subject path)."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from entitlements_support import LIBRARY_CASES, Case, load_rows
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from carekit.db.engine import sqlalchemy_url
from entitlements.adapters.batch import eligible_population, facts_row
from entitlements.adapters.policy_library import load_library
from entitlements.domain.evaluation import evaluate_population

LIBRARY = {checked.policy.code: checked for checked in load_library()}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def engine(migrated_database) -> AsyncIterator[AsyncEngine]:
    url = await migrated_database("entitlements")
    engine = create_async_engine(sqlalchemy_url(url))
    yield engine
    await engine.dispose()


@pytest.mark.parametrize("case", LIBRARY_CASES, ids=lambda case: case.id)
async def test_library_case_sql(engine: AsyncEngine, case: Case) -> None:
    checked = LIBRARY[case.policy]
    async with engine.begin() as conn:
        await load_rows(conn, case.rows)
        lines = await eligible_population(conn, checked, case.as_of)
    assert {line.subject_id: line.amount for line in lines} == case.expected


async def test_rows_round_trip_through_the_table(engine: AsyncEngine) -> None:
    from sqlalchemy import text

    rows = [row for case in LIBRARY_CASES for row in case.rows]
    unique = list({row.person_id: row for row in rows}.values())
    async with engine.begin() as conn:
        await load_rows(conn, unique)
        stored = [facts_row(dict(r._mapping)) for r in await conn.execute(text("SELECT * FROM person_facts"))]
    assert sorted(stored, key=lambda r: r.person_id) == sorted(unique, key=lambda r: r.person_id)


async def test_the_whole_library_agrees_on_one_population(engine: AsyncEngine) -> None:
    """All cases' households together, every library policy, on each case's date: SQL = per subject."""
    rows = list({row.person_id: row for case in LIBRARY_CASES for row in case.rows}.values())
    async with engine.begin() as conn:
        await load_rows(conn, rows)
        for case in LIBRARY_CASES:
            for checked in LIBRARY.values():
                lines = await eligible_population(conn, checked, case.as_of)
                sql = {line.subject_id: line.amount for line in lines}
                per_subject = {d.subject_id: d.amount for d in evaluate_population(checked, rows, case.as_of)
                               if d.eligible}
                assert sql == per_subject, (checked.policy.code, case.as_of)
