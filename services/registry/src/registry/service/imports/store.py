"""Storing one checked chunk: set-based writes in one transaction of a UnitOfWork.

The chunk's rows are copied (COPY) into two temporary staging tables, then moved with a few
INSERT … SELECT statements:

1. households and persons that exist already are found: households by (division_code,
   external_ref), persons by the blind index of their ID number (or, without one, by name and birth
   date within their household). A person already in the same household is left as it is (so a
   re-import changes nothing); one registered in another household is an error.
2. parent links are resolved: to a stored person, or to a row of this chunk that comes earlier in
   the file or is in the same household; a row whose parent cannot be found (or whose parent's row
   failed) is an error.
3. new households, persons (INSERT … ON CONFLICT DO NOTHING), their BIRTH/REGISTERED life events
   and, for a migrant household, its residence_changed event, as `register_household` and
   `register_person` write them;
4. the outbox rows, built by the database from the rows just written: registry.household.registered
   per new household, registry.person.registered per new person;
5. household facts: a new household nobody outside it links to gets the facts computed from its rows
   by the worker (stored in household_facts and announced with registry.household.facts_changed);
   every other household that gained a person or a child is recomputed from the stored rows
   (`registry.service.imports.facts`), announced only if its facts changed;
6. the chunk's error rows, and the job's progress counters.

Everything commits together, or nothing does (the chunk is then retried).
"""

from __future__ import annotations

import io
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
from sqlalchemy import text

from carekit.db.uow import UnitOfWork, outbox_channel
from registry.domain.import_rows import RowError
from registry.events.outgoing import (
    HOUSEHOLD_FACTS_CHANGED,
    HOUSEHOLD_REGISTERED,
    PERSON_REGISTERED,
    SOURCE,
)
from registry.service.imports.facts import refresh_facts_of
from registry.service.imports.validate import HOUSEHOLD_COLUMNS, PERSON_COLUMNS, ChunkResult

SOURCE_NAME = "import"

STAGING_SQL = """
CREATE TEMP TABLE imp_h (
    hh int, id uuid, division_code text, external_ref text, hukou_type text, residence_division_code text,
    address text, facts jsonb, members int, contained bool, event_id uuid, facts_event_id uuid,
    residence_event_id uuid, hid uuid, created bool NOT NULL DEFAULT false, fast bool NOT NULL DEFAULT false
) ON COMMIT DROP;
CREATE TEMP TABLE imp_p (
    row_number int, id uuid, hh int, name text, name_pinyin text, name_initials text, sex text,
    birth_date date, relation text, id_index text, id_cipher bytea, id_key text, phone_cipher bytea,
    phone_key text, bank_cipher bytea, bank_key text, mother_index text, father_index text, entry_kind text,
    entry_date date, event_id uuid, out_id uuid,
    st smallint NOT NULL DEFAULT 0, reason text, mother_id uuid, father_id uuid
) ON COMMIT DROP;
"""
# st: 0 new (then: inserted), 2 stored already in the same household (unchanged), 3 error (`reason`)

# Lookups in the big tables probe their indexes once per staging row: a LATERAL subquery with LIMIT 1
# is never flattened into a join, so the planner cannot pick a hash join that reads the whole of
# `persons` or `households` for every chunk (which made an import slower the more was stored).
EXISTING_HOUSEHOLDS = """
WITH found AS (
    SELECT s.hh, h.id, h.hukou_type, h.residence_division_code FROM imp_h s CROSS JOIN LATERAL (
        SELECT id, hukou_type, residence_division_code FROM households
        WHERE division_code = s.division_code AND external_ref = s.external_ref LIMIT 1) h
)
UPDATE imp_h s SET hid = f.id, hukou_type = f.hukou_type, residence_division_code = f.residence_division_code
FROM found f WHERE f.hh = s.hh
"""
EXISTING_PERSONS = """
WITH found AS (
    SELECT p.row_number, x.household_id FROM imp_p p CROSS JOIN LATERAL (
        SELECT household_id FROM persons WHERE id_number_index = p.id_index LIMIT 1) x
    WHERE p.id_index IS NOT NULL
)
UPDATE imp_p p SET st = CASE WHEN f.household_id = s.hid THEN 2 ELSE 3 END,
                   reason = CASE WHEN f.household_id = s.hid THEN NULL ELSE 'elsewhere' END
FROM found f, imp_h s WHERE f.row_number = p.row_number AND s.hh = p.hh
"""
EXISTING_PERSONS_WITHOUT_ID = """
UPDATE imp_p p SET st = 2 FROM imp_h s, persons x
WHERE p.id_index IS NULL AND p.st = 0 AND s.hh = p.hh AND s.hid IS NOT NULL AND x.household_id = s.hid
  AND x.id_number_index IS NULL AND x.name = p.name AND x.birth_date = p.birth_date
"""
LINK_STORED_PARENT = """
UPDATE imp_p p SET {role}_id = x.id FROM imp_p q, persons x
WHERE p.st = 0 AND q.id = p.{role}_id AND q.st IN (2, 3) AND x.id_number_index = q.id_index
"""
UNLINK_DROPPED_PARENT = """
UPDATE imp_p p SET {role}_id = NULL
WHERE p.{role}_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM imp_p q WHERE q.id = p.{role}_id)
"""
RESOLVE_PARENT = """
UPDATE imp_p p SET {role}_id = coalesce(
    (SELECT x.id FROM persons x WHERE x.id_number_index = p.{role}_index),
    (SELECT q.id FROM imp_p q WHERE q.id_index = p.{role}_index AND q.st = 0
        AND (q.row_number < p.row_number OR q.hh = p.hh) ORDER BY q.row_number LIMIT 1))
WHERE p.st = 0 AND p.{role}_index IS NOT NULL AND p.{role}_id IS NULL
"""
PARENT_TO_RESOLVE = """
SELECT EXISTS (SELECT 1 FROM imp_p WHERE st = 0 AND {role}_index IS NOT NULL AND {role}_id IS NULL)
"""
PARENT_MISSING = """
UPDATE imp_p SET st = 3, reason = '{role}' WHERE st = 0 AND {role}_index IS NOT NULL AND {role}_id IS NULL
"""
PARENT_ROW_FAILED = """
UPDATE imp_p p SET st = 3, reason = '{role}_row' FROM imp_p q
WHERE p.st = 0 AND q.id = p.{role}_id AND q.st = 3
"""
CREATE_HOUSEHOLDS = """
INSERT INTO households (id, division_code, external_ref, hukou_type, residence_division_code, address, status,
                        version, created_by)
SELECT s.id, s.division_code, s.external_ref, s.hukou_type, s.residence_division_code, s.address, 'active', 1, $1
FROM imp_h s WHERE s.hid IS NULL AND s.hukou_type IS NOT NULL
  AND EXISTS (SELECT 1 FROM imp_p p WHERE p.hh = s.hh AND p.st = 0)
ORDER BY s.division_code, s.external_ref
ON CONFLICT DO NOTHING
"""
CREATED_HOUSEHOLDS = """
WITH found AS (
    SELECT s.hh, h.id, h.hukou_type, h.residence_division_code FROM imp_h s CROSS JOIN LATERAL (
        SELECT id, hukou_type, residence_division_code FROM households
        WHERE division_code = s.division_code AND external_ref = s.external_ref LIMIT 1) h
    WHERE s.hid IS NULL
)
UPDATE imp_h s SET hid = f.id, created = (f.id = s.id), hukou_type = f.hukou_type,
                   residence_division_code = f.residence_division_code
FROM found f WHERE f.hh = s.hh
"""
INSERT_PERSONS = """
INSERT INTO persons (id, household_id, name, name_pinyin, name_initials, sex, birth_date, relation, mother_id,
                     father_id, id_number_cipher, id_number_key_id, id_number_index, phone_cipher, phone_key_id,
                     bank_account_cipher, bank_account_key_id, version)
SELECT p.id, s.hid, p.name, p.name_pinyin, p.name_initials, p.sex, p.birth_date, p.relation, p.mother_id,
       p.father_id, p.id_cipher, p.id_key, p.id_index, p.phone_cipher, p.phone_key, p.bank_cipher, p.bank_key, 1
FROM imp_p p JOIN imp_h s ON s.hh = p.hh WHERE p.st = 0
ON CONFLICT DO NOTHING
"""
ENTRY_EVENTS = """
INSERT INTO life_events (id, household_id, person_id, kind, effective_date, recorded_by, source, payload)
SELECT p.event_id, s.hid, p.id, p.entry_kind, p.entry_date, $1, $2, '{}'::jsonb
FROM imp_p p JOIN imp_h s ON s.hh = p.hh WHERE p.st = 0
"""
RESIDENCE_EVENTS = """
INSERT INTO life_events (id, household_id, person_id, kind, effective_date, recorded_by, source, payload)
SELECT residence_event_id, hid, NULL, 'residence_changed', $3::date, $1, $2,
       jsonb_build_object('residence_division_code', residence_division_code)
FROM imp_h WHERE created AND residence_division_code IS NOT NULL
"""


def _envelope(event_id: str, event_type: str, subject: str, data: str) -> str:
    """SQL for a CloudEvents 1.0 structured-mode envelope (the fields `EventEnvelope.to_json` writes)."""
    return (f"convert_to(json_build_object('id', {event_id}, 'type', '{event_type}', 'source', '{SOURCE}', "
            f"'time', $1::text, 'datacontenttype', 'application/json', 'subject', {subject}, "
            f"'specversion', '1.0', 'data', {data})::text, 'UTF8')")


PERSON_DATA = """json_build_object(
    'person_id', p.id, 'household_id', s.hid, 'division_code', s.division_code,
    'residence_division_code', s.residence_division_code, 'id_number_index', p.id_index, 'sex', p.sex,
    'birth_date', to_char(p.birth_date, 'YYYY-MM-DD'), 'relation', p.relation, 'mother_id', p.mother_id,
    'father_id', p.father_id, 'death_date', NULL::text)"""
HOUSEHOLD_DATA = """json_build_object(
    'household_id', s.hid, 'division_code', s.division_code, 'residence_division_code', s.residence_division_code,
    'hukou_type', s.hukou_type, 'status', 'active')"""
FACTS_DATA = """json_build_object(
    'household_id', s.hid, 'division_code', s.division_code, 'residence_division_code', s.residence_division_code,
    'facts', s.facts)"""
PERSON_EVENTS = f"""
INSERT INTO outbox (event_id, subject, payload)
SELECT p.out_id, '{PERSON_REGISTERED}', {_envelope("p.out_id", PERSON_REGISTERED, "p.id::text", PERSON_DATA)}
FROM imp_p p JOIN imp_h s ON s.hh = p.hh WHERE p.st = 0
"""
HOUSEHOLD_EVENTS = f"""
INSERT INTO outbox (event_id, subject, payload)
SELECT s.event_id, '{HOUSEHOLD_REGISTERED}',
       {_envelope("s.event_id", HOUSEHOLD_REGISTERED, "s.hid::text", HOUSEHOLD_DATA)}
FROM imp_h s WHERE s.created
"""
FACTS_EVENTS = f"""
INSERT INTO outbox (event_id, subject, payload)
SELECT s.facts_event_id, '{HOUSEHOLD_FACTS_CHANGED}',
       {_envelope("s.facts_event_id", HOUSEHOLD_FACTS_CHANGED, "s.hid::text", FACTS_DATA)}
FROM imp_h s WHERE s.fast AND s.facts IS NOT NULL
"""
FAST_FACTS = """
UPDATE imp_h s SET fast = true FROM (SELECT hh, count(*) AS n FROM imp_p WHERE st = 0 GROUP BY hh) c
WHERE c.hh = s.hh AND s.created AND s.contained AND c.n = s.members
"""
STORE_FACTS = """
INSERT INTO household_facts (household_id, division_code, as_of, facts)
SELECT hid, division_code, $1::date, facts FROM imp_h WHERE fast AND facts IS NOT NULL
"""
RECOMPUTE = """
SELECT DISTINCT s.hid FROM imp_h s JOIN imp_p p ON p.hh = s.hh WHERE p.st = 0 AND NOT s.fast
UNION SELECT x.household_id FROM imp_p p JOIN imp_h s ON s.hh = p.hh CROSS JOIN LATERAL (
          SELECT household_id, merged_into FROM persons WHERE id = p.mother_id LIMIT 1) x
      WHERE p.st = 0 AND p.mother_id IS NOT NULL AND x.household_id <> s.hid AND x.merged_into IS NULL
UNION SELECT x.household_id FROM imp_p p JOIN imp_h s ON s.hh = p.hh CROSS JOIN LATERAL (
          SELECT household_id, merged_into FROM persons WHERE id = p.father_id LIMIT 1) x
      WHERE p.st = 0 AND p.father_id IS NOT NULL AND x.household_id <> s.hid AND x.merged_into IS NULL
"""
NO_HOUSEHOLD = """
UPDATE imp_p p SET st = 3, reason = 'household' FROM imp_h s WHERE s.hh = p.hh AND p.st = 0 AND s.hid IS NULL
"""
PROGRESS = "UPDATE imports SET done = done + $2, failed = failed + $3 WHERE id = $1"

_REASONS = {
    "elsewhere": ("id_number", "A person with this ID number is already registered in another household.",
                  "该公民身份号码已在其他户登记。"),
    "mother": ("mother_id_number",
               "No person with this ID number is registered, earlier in the file or in the same household.",
               "该身份号码的人员尚未登记，也不在文件前面的行或本户中。"),
    "father": ("father_id_number",
               "No person with this ID number is registered, earlier in the file or in the same household.",
               "该身份号码的人员尚未登记，也不在文件前面的行或本户中。"),
    "household": ("hukou_type", "The household's earlier rows could not be imported: give its 户口性质 on this row.",
                  "本户前面的行未能导入：请在此行填写户口性质。"),
    "mother_row": ("mother_id_number", "The mother's row could not be imported.", "母亲所在行未能导入。"),
    "father_row": ("father_id_number", "The father's row could not be imported.", "父亲所在行未能导入。"),
}


class ChunkRace(Exception):
    """A concurrent writer registered one of the chunk's persons first: the chunk is retried."""


@dataclass(frozen=True)
class StoredChunk:
    persons_created: int
    persons_unchanged: int
    households_created: int
    facts_stored: int
    failed_rows: int
    errors: list[RowError]


async def raw_connection(uow: UnitOfWork) -> asyncpg.Connection:
    """The asyncpg connection under the unit of work's session, inside its transaction."""
    await uow.session.execute(text("SELECT 1"))  # begins the transaction on the session's connection
    connection = await uow.session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None and raw.is_in_transaction()
    return raw


class _Timed:
    """The connection's execute/fetch/fetchval/copy, adding each statement's seconds to `timings`."""

    def __init__(self, conn: asyncpg.Connection, timings: dict[str, float]) -> None:
        self._conn, self._timings = conn, timings

    def __getattr__(self, name: str):  # noqa: ANN204
        method = getattr(self._conn, name)

        async def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                key = _statement_name(name, args)
                self._timings[key] = self._timings.get(key, 0.0) + time.perf_counter() - started

        return timed


def _statement_name(method: str, args: tuple) -> str:
    if method.startswith("copy"):
        return f"copy {args[0]}"
    sql = " ".join(str(args[0]).split())[:48] if args else method
    return _NAMES.get(str(args[0]) if args else "", sql)


async def store_chunk(uow: UnitOfWork, chunk: ChunkResult, *, job_id: uuid.UUID, actor: str, today: date,
                      duplicates: list[RowError], service_name: str,
                      timings: dict[str, float] | None = None) -> StoredChunk:
    """Write one checked chunk in the unit of work's transaction (the caller commits).

    `timings`, if given, collects the seconds spent per statement (for the benchmark's breakdown)."""
    conn = await raw_connection(uow)
    if timings is not None:
        conn = _Timed(conn, timings)  # type: ignore[assignment]
    await conn.execute(STAGING_SQL)
    if chunk.households:
        await conn.copy_to_table("imp_h", source=io.BytesIO(chunk.households), columns=list(HOUSEHOLD_COLUMNS))
    if chunk.persons:
        await conn.copy_to_table("imp_p", source=io.BytesIO(chunk.persons), columns=list(PERSON_COLUMNS))
    if duplicates:
        await conn.execute("DELETE FROM imp_p WHERE row_number = ANY($1::int[])", [e.row for e in duplicates])
        for role in ("mother", "father"):  # a parent's row dropped as a duplicate: find the parent again
            await conn.execute(UNLINK_DROPPED_PARENT.format(role=role))
    await conn.execute(EXISTING_HOUSEHOLDS)
    await conn.execute(EXISTING_PERSONS)
    await conn.execute(EXISTING_PERSONS_WITHOUT_ID)
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM imp_p WHERE mother_index IS NOT NULL "
                           "OR father_index IS NOT NULL)"):
        await _resolve_parents(conn)
    await conn.execute(CREATE_HOUSEHOLDS, actor)
    await conn.execute(CREATED_HOUSEHOLDS)
    await conn.execute(NO_HOUSEHOLD)
    expected = await conn.fetchval("SELECT count(*) FROM imp_p WHERE st = 0")
    inserted = _count(await conn.execute(INSERT_PERSONS))
    if inserted != expected:
        raise ChunkRace(f"{expected - inserted} person(s) registered meanwhile")
    await conn.execute(ENTRY_EVENTS, actor, SOURCE_NAME)
    await conn.execute(RESIDENCE_EVENTS, actor, SOURCE_NAME, today)
    event_time = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    await conn.execute(PERSON_EVENTS, event_time)
    households_created = _count(await conn.execute(HOUSEHOLD_EVENTS, event_time))
    await conn.execute(FAST_FACTS)
    facts_stored = _count(await conn.execute(STORE_FACTS, today))
    await conn.execute(FACTS_EVENTS, event_time)
    if inserted or households_created:
        await conn.execute("SELECT pg_notify($1, '')", outbox_channel(service_name))
    recompute = [row[0] for row in await conn.fetch(RECOMPUTE)]
    if recompute:
        started = time.perf_counter()
        facts_stored += await refresh_facts_of(uow, recompute, today)
        if timings is not None:
            timings["facts recomputed"] = timings.get("facts recomputed", 0.0) + time.perf_counter() - started

    db_errors = [RowError(row["row_number"], *_REASONS[row["reason"]])
                 for row in await conn.fetch("SELECT row_number, reason FROM imp_p WHERE st = 3 ORDER BY row_number")]
    unchanged = await conn.fetchval("SELECT count(*) FROM imp_p WHERE st = 2")
    errors = chunk.errors + duplicates + db_errors
    failed = len(chunk.failed_rows) + len({e.row for e in duplicates}) + len({e.row for e in db_errors})
    if errors:
        await conn.copy_records_to_table(
            "import_errors", columns=["import_id", "row_number", "column", "message", "message_zh"],
            records=[(job_id, e.row, e.column, e.message, e.message_zh) for e in errors])
    await conn.execute(PROGRESS, job_id, chunk.rows, failed)
    return StoredChunk(inserted, unchanged, households_created, facts_stored, failed, errors)


async def _resolve_parents(conn: asyncpg.Connection) -> None:
    """Parents in the same household come linked from the worker; the others are looked up here."""
    indexed = False
    for role in ("mother", "father"):
        await conn.execute(LINK_STORED_PARENT.format(role=role))
        if await conn.fetchval(PARENT_TO_RESOLVE.format(role=role)):
            if not indexed:
                await conn.execute("CREATE INDEX ON imp_p (id_index)")
                indexed = True
            await conn.execute(RESOLVE_PARENT.format(role=role))
        await conn.execute(PARENT_MISSING.format(role=role))
    while True:  # a row whose parent's row failed fails too, down the generations
        failed = 0
        for role in ("mother", "father"):
            failed += _count(await conn.execute(PARENT_ROW_FAILED.format(role=role)))
        if not failed:
            return


_NAMES = {
    STAGING_SQL: "staging tables", EXISTING_HOUSEHOLDS: "existing households", EXISTING_PERSONS: "existing persons",
    EXISTING_PERSONS_WITHOUT_ID: "existing persons without ID", CREATE_HOUSEHOLDS: "insert households",
    CREATED_HOUSEHOLDS: "created households", NO_HOUSEHOLD: "rows without household", INSERT_PERSONS: "insert persons",
    ENTRY_EVENTS: "insert life events", RESIDENCE_EVENTS: "insert residence events",
    PERSON_EVENTS: "outbox person.registered", HOUSEHOLD_EVENTS: "outbox household.registered",
    FAST_FACTS: "facts from rows", STORE_FACTS: "insert household facts", FACTS_EVENTS: "outbox facts_changed",
    RECOMPUTE: "households to recompute", PROGRESS: "progress",
}


def _count(status: str) -> int:
    """Rows affected, from a command tag such as 'INSERT 0 12' or 'UPDATE 3'."""
    return int(status.rsplit(" ", 1)[-1])
