"""Storing one checked chunk: set-based writes in one transaction of a UnitOfWork.

The chunk's rows are copied (COPY) into three temporary staging tables (households, persons, the
life events given on the rows), then moved with a few INSERT … SELECT statements:

1. households and persons that exist already are found: households by (division_code,
   external_ref), persons by the blind index of their ID number (or, without one, by name and birth
   date within their household). A person already in the same household is left as it is (so a
   re-import changes nothing); one registered in another household is an error.
2. parent links are resolved: to a stored person, or to a row of this chunk that comes earlier in
   the file or is in the same household; a row whose parent cannot be found (or whose parent's row
   failed) is an error.
   The rows' life events (death, disability_assessed, certificate_issued, low_income_changed) are
   checked against what is stored: an identical event (person — or household for a certificate —,
   kind, effective date, payload) already on record is dropped, so a re-import records nothing; a row
   fails when its certificate number belongs to another household (or to an earlier household of the
   chunk), when its person's stored death date comes before one of its events, or when its death date
   comes before an event on record.
3. new households, persons (INSERT … ON CONFLICT DO NOTHING), their BIRTH/REGISTERED life events
   and, for a migrant household, its residence_changed event, as `register_household` and
   `register_person` write them; then the rows' life events (source "import"), with the projections
   `record_person_event`/`record_household_event` keep: persons.death_date (and version), the
   certificates table, the household's version;
4. the outbox rows, built by the database from the rows just written: registry.household.registered
   per new household, registry.person.registered per new person, and per life event what the API
   emits for it: registry.person.died, registry.person.disability_changed, registry.low_income.changed
   (person data with the event) or registry.certificate.issued (household data with the event);
5. household facts: a new household nobody outside it links to gets the facts computed from its rows
   by the worker (stored in household_facts and announced with registry.household.facts_changed);
   every other household that gained a person, a child or a life event (or whose child gained one) is
   recomputed from the stored rows (`registry.service.imports.facts`), announced only if its facts
   changed;
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
    CERTIFICATE_ISSUED,
    HOUSEHOLD_FACTS_CHANGED,
    HOUSEHOLD_REGISTERED,
    LOW_INCOME_CHANGED,
    PERSON_DIED,
    PERSON_DISABILITY_CHANGED,
    PERSON_REGISTERED,
    PERSON_UPDATED,
    SOURCE,
)
from registry.service.imports.facts import refresh_facts_of
from registry.service.imports.validate import EVENT_COLUMNS, HOUSEHOLD_COLUMNS, PERSON_COLUMNS, ChunkResult

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
    entry_date date, event_id uuid, out_id uuid, death_date date,
    st smallint NOT NULL DEFAULT 0, reason text, mother_id uuid, father_id uuid, pid uuid
) ON COMMIT DROP;
CREATE TEMP TABLE imp_e (
    row_number int, hh int, kind text, effective_date date, payload jsonb, on_household bool, event_id uuid,
    out_id uuid, keep bool NOT NULL DEFAULT true
) ON COMMIT DROP;
"""
# st: 0 new (then: inserted), 2 stored already in the same household (unchanged), 3 error (`reason`)
# pid: the person's id in `persons` (a new row's own id, or the stored person's)
# imp_e.keep: the event is to be recorded (false: already on record, given twice, or its row failed)

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
    SELECT p.row_number, x.household_id, x.id FROM imp_p p CROSS JOIN LATERAL (
        SELECT household_id, id FROM persons WHERE id_number_index = p.id_index LIMIT 1) x
    WHERE p.id_index IS NOT NULL
)
UPDATE imp_p p SET st = CASE WHEN f.household_id = s.hid THEN 2 ELSE 3 END, pid = f.id,
                   reason = CASE WHEN f.household_id = s.hid THEN NULL ELSE 'elsewhere' END
FROM found f, imp_h s WHERE f.row_number = p.row_number AND s.hh = p.hh
"""
EXISTING_PERSONS_WITHOUT_ID = """
UPDATE imp_p p SET st = 2, pid = x.id FROM imp_h s, persons x
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
                     bank_account_cipher, bank_account_key_id, death_date, version)
SELECT p.id, s.hid, p.name, p.name_pinyin, p.name_initials, p.sex, p.birth_date, p.relation, p.mother_id,
       p.father_id, p.id_cipher, p.id_key, p.id_index, p.phone_cipher, p.phone_key, p.bank_cipher, p.bank_key,
       p.death_date, 1
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


def _envelope(event_id: str, event_type: str, subject: str, data: str, *, type_sql: str | None = None) -> str:
    """SQL for a CloudEvents 1.0 structured-mode envelope (the fields `EventEnvelope.to_json` writes).

    `type_sql`: an SQL expression giving the type per row, instead of the constant `event_type`."""
    type_value = type_sql or f"'{event_type}'"
    return (f"convert_to(json_build_object('id', {event_id}, 'type', {type_value}, 'source', '{SOURCE}', "
            f"'time', $1::text, 'datacontenttype', 'application/json', 'subject', {subject}, "
            f"'specversion', '1.0', 'data', {data})::text, 'UTF8')")


PERSON_DATA = """json_build_object(
    'person_id', p.id, 'household_id', s.hid, 'division_code', s.division_code,
    'residence_division_code', s.residence_division_code, 'id_number_index', p.id_index, 'sex', p.sex,
    'birth_date', to_char(p.birth_date, 'YYYY-MM-DD'), 'relation', p.relation, 'mother_id', p.mother_id,
    'father_id', p.father_id, 'death_date', to_char(p.death_date, 'YYYY-MM-DD'))"""
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
UNION SELECT s.hid FROM imp_e e JOIN imp_h s ON s.hh = e.hh WHERE e.keep AND NOT s.fast
UNION SELECT y.household_id FROM imp_e e JOIN imp_p p ON p.row_number = e.row_number
          JOIN persons c ON c.id = p.pid JOIN persons y ON y.id IN (c.mother_id, c.father_id)
      WHERE e.keep AND p.st = 2 AND NOT e.on_household AND y.merged_into IS NULL
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
# -- life events given on the rows (death, disability, certificate, low income) --------------------
CERTIFICATE_ELSEWHERE = """
UPDATE imp_p p SET st = 3, reason = 'certificate' FROM imp_e e JOIN imp_h s ON s.hh = e.hh
WHERE e.row_number = p.row_number AND e.on_household AND p.st IN (0, 2) AND EXISTS (
    SELECT 1 FROM certificates c WHERE c.number = e.payload->>'number' AND c.household_id IS DISTINCT FROM s.hid)
"""
CERTIFICATE_TWICE = """
UPDATE imp_p p SET st = 3, reason = 'certificate' FROM imp_e e, (
    SELECT DISTINCT ON (payload->>'number') payload->>'number' AS number, hh FROM imp_e WHERE on_household
    ORDER BY payload->>'number', row_number) f
WHERE e.row_number = p.row_number AND e.on_household AND p.st IN (0, 2) AND f.number = e.payload->>'number'
  AND f.hh <> e.hh
"""
EVENTS_ON_RECORD = """
UPDATE imp_e e SET keep = false FROM imp_p p, imp_h s
WHERE p.row_number = e.row_number AND s.hh = e.hh AND s.hid IS NOT NULL AND (
    (NOT e.on_household AND p.st = 2 AND EXISTS (
        SELECT 1 FROM life_events l WHERE l.person_id = p.pid AND l.kind = e.kind
        AND l.effective_date = e.effective_date AND l.payload = e.payload))
    OR (e.on_household AND EXISTS (
        SELECT 1 FROM life_events l WHERE l.household_id = s.hid AND l.person_id IS NULL AND l.kind = e.kind
        AND l.effective_date = e.effective_date AND l.payload = e.payload)))
"""
AFTER_STORED_DEATH = """
UPDATE imp_p p SET st = 3, reason = 'died_' || e.kind FROM imp_e e, persons x
WHERE e.row_number = p.row_number AND e.keep AND NOT e.on_household AND p.st = 2 AND x.id = p.pid
  AND x.death_date IS NOT NULL AND e.effective_date > x.death_date
"""
DEATH_BEFORE_STORED = """
UPDATE imp_p p SET st = 3, reason = 'death_early' FROM imp_e e
WHERE e.row_number = p.row_number AND e.keep AND e.kind = 'death' AND p.st = 2 AND EXISTS (
    SELECT 1 FROM life_events l WHERE l.person_id = p.pid AND l.effective_date > e.effective_date
    AND l.kind <> 'retracted')
"""
DROP_FAILED_EVENTS = """
UPDATE imp_e e SET keep = false FROM imp_p p WHERE p.row_number = e.row_number AND p.st NOT IN (0, 2)
"""
GIVEN_TWICE = """
UPDATE imp_e e SET keep = false FROM (
    SELECT row_number, kind, row_number() OVER (PARTITION BY hh, kind, effective_date, payload ORDER BY row_number) n
    FROM imp_e WHERE keep AND on_household) d
WHERE d.row_number = e.row_number AND d.kind = e.kind AND d.n > 1
"""
INSERT_GIVEN_EVENTS = """
INSERT INTO life_events (id, household_id, person_id, kind, effective_date, recorded_by, source, payload)
SELECT e.event_id, s.hid, CASE WHEN e.on_household THEN NULL ELSE p.pid END, e.kind, e.effective_date, $1, $2,
       e.payload
FROM imp_e e JOIN imp_p p ON p.row_number = e.row_number JOIN imp_h s ON s.hh = e.hh
WHERE e.keep ORDER BY e.row_number, e.kind
"""
STORED_PERSONS_CHANGED = """
UPDATE persons x SET death_date = greatest(x.death_date, c.death_date), version = x.version + 1, updated_at = now()
FROM (SELECT p.pid, max(e.effective_date) FILTER (WHERE e.kind = 'death') AS death_date
      FROM imp_e e JOIN imp_p p ON p.row_number = e.row_number
      WHERE e.keep AND NOT e.on_household AND p.st = 2 GROUP BY p.pid) c
WHERE x.id = c.pid
"""
STORED_HOUSEHOLDS_CHANGED = """
UPDATE households h SET version = h.version + 1, updated_at = now()
FROM (SELECT DISTINCT s.hid FROM imp_e e JOIN imp_h s ON s.hh = e.hh WHERE e.keep AND e.on_household
      AND NOT s.created) c
WHERE h.id = c.hid
"""
# The certificates projection: one row per number, issued on the latest date given (as
# life_events._project_certificates keeps it); a number another household took meanwhile updates nothing.
CERTIFICATES = """
INSERT INTO certificates (id, household_id, number, issued_on)
SELECT DISTINCT ON (e.payload->>'number') e.event_id, s.hid, e.payload->>'number', e.effective_date
FROM imp_e e JOIN imp_h s ON s.hh = e.hh WHERE e.keep AND e.on_household
ORDER BY e.payload->>'number', e.effective_date DESC
ON CONFLICT (number) DO UPDATE SET issued_on = greatest(certificates.issued_on, EXCLUDED.issued_on)
WHERE certificates.household_id = EXCLUDED.household_id
"""
CERTIFICATES_EXPECTED = """
SELECT count(DISTINCT e.payload->>'number') FROM imp_e e WHERE e.keep AND e.on_household
"""
_EVENT_TYPE = (f"CASE e.kind WHEN 'death' THEN '{PERSON_DIED}' WHEN 'disability_assessed' THEN "
               f"'{PERSON_DISABILITY_CHANGED}' WHEN 'low_income_changed' THEN '{LOW_INCOME_CHANGED}' "
               f"ELSE '{PERSON_UPDATED}' END")
# As life_events.record_person_event: the person's data, the event, its public payload last (a
# low-income payload's "kind" (dibao/tekun) overwrites the event's kind there too).
GIVEN_PERSON_DATA = """(json_build_object(
    'person_id', x.id, 'household_id', x.household_id, 'division_code', s.division_code,
    'residence_division_code', s.residence_division_code, 'id_number_index', x.id_number_index, 'sex', x.sex,
    'birth_date', to_char(x.birth_date, 'YYYY-MM-DD'), 'relation', x.relation, 'mother_id', x.mother_id,
    'father_id', x.father_id, 'death_date', to_char(x.death_date, 'YYYY-MM-DD'), 'life_event_id', e.event_id,
    'kind', e.kind, 'effective_date', to_char(e.effective_date, 'YYYY-MM-DD'))::jsonb || e.payload)"""
GIVEN_HOUSEHOLD_DATA = """(json_build_object(
    'household_id', s.hid, 'division_code', s.division_code, 'residence_division_code', s.residence_division_code,
    'life_event_id', e.event_id, 'kind', e.kind, 'effective_date', to_char(e.effective_date, 'YYYY-MM-DD'))::jsonb
    || e.payload)"""
GIVEN_PERSON_EVENTS = f"""
INSERT INTO outbox (event_id, subject, payload)
SELECT e.out_id, {_EVENT_TYPE}, {_envelope("e.out_id", "", "x.id::text", GIVEN_PERSON_DATA, type_sql=_EVENT_TYPE)}
FROM imp_e e JOIN imp_p p ON p.row_number = e.row_number JOIN imp_h s ON s.hh = e.hh JOIN persons x ON x.id = p.pid
WHERE e.keep AND NOT e.on_household ORDER BY e.row_number, e.kind
"""
GIVEN_HOUSEHOLD_EVENTS = f"""
INSERT INTO outbox (event_id, subject, payload)
SELECT e.out_id, '{CERTIFICATE_ISSUED}',
       {_envelope("e.out_id", CERTIFICATE_ISSUED, "s.hid::text", GIVEN_HOUSEHOLD_DATA)}
FROM imp_e e JOIN imp_h s ON s.hh = e.hh WHERE e.keep AND e.on_household ORDER BY e.row_number
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
    "certificate": ("certificate_number", "This certificate number is held by another household.",
                    "该光荣证号已由其他户持有。"),
    "died_disability_assessed": ("disability_assessed_on", "The person had died before this date.",
                                 "此人在该日期之前已去世。"),
    "died_low_income_changed": ("low_income_since", "The person had died before this date.",
                                "此人在该日期之前已去世。"),
    "died_death": ("death_date", "The person had died before this date.", "此人在该日期之前已去世。"),
    "death_early": ("death_date", "Events on record for this person are dated after this death date.",
                    "此人已登记的事件晚于该死亡日期。"),
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
    events_recorded: int = 0


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
    if chunk.events:
        await conn.copy_to_table("imp_e", source=io.BytesIO(chunk.events), columns=list(EVENT_COLUMNS))
    if duplicates:
        await conn.execute("DELETE FROM imp_p WHERE row_number = ANY($1::int[])", [e.row for e in duplicates])
        await conn.execute("DELETE FROM imp_e WHERE row_number = ANY($1::int[])", [e.row for e in duplicates])
        for role in ("mother", "father"):  # a parent's row dropped as a duplicate: find the parent again
            await conn.execute(UNLINK_DROPPED_PARENT.format(role=role))
    await conn.execute(EXISTING_HOUSEHOLDS)
    await conn.execute(EXISTING_PERSONS)
    await conn.execute(EXISTING_PERSONS_WITHOUT_ID)
    if chunk.events:
        await _check_given_events(conn)
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
    events_recorded = await _record_given_events(conn, actor, event_time) if chunk.events else 0
    await conn.execute(FAST_FACTS)
    facts_stored = _count(await conn.execute(STORE_FACTS, today))
    await conn.execute(FACTS_EVENTS, event_time)
    if inserted or households_created or events_recorded:
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
    return StoredChunk(inserted, unchanged, households_created, facts_stored, failed, errors, events_recorded)


async def _check_given_events(conn: asyncpg.Connection) -> None:
    """Before anything is written: drop the events already on record, and fail the rows whose events
    clash with what is stored (a certificate number of another household, a stored death)."""
    await conn.execute(CERTIFICATE_ELSEWHERE)
    await conn.execute(CERTIFICATE_TWICE)
    await conn.execute(EVENTS_ON_RECORD)
    await conn.execute(AFTER_STORED_DEATH)
    await conn.execute(DEATH_BEFORE_STORED)


async def _record_given_events(conn: asyncpg.Connection, actor: str, event_time: str) -> int:
    """The rows' life events after their persons: life_events, projections, outbox. Returns how many."""
    await conn.execute("UPDATE imp_p SET pid = id WHERE st = 0")
    await conn.execute(DROP_FAILED_EVENTS)
    await conn.execute(GIVEN_TWICE)
    recorded = _count(await conn.execute(INSERT_GIVEN_EVENTS, actor, SOURCE_NAME))
    if not recorded:
        return 0
    await conn.execute(STORED_PERSONS_CHANGED)
    await conn.execute(STORED_HOUSEHOLDS_CHANGED)
    expected = await conn.fetchval(CERTIFICATES_EXPECTED)
    if expected and _count(await conn.execute(CERTIFICATES)) != expected:
        raise ChunkRace("a certificate number was taken by another household meanwhile")
    await conn.execute(GIVEN_PERSON_EVENTS, event_time)
    await conn.execute(GIVEN_HOUSEHOLD_EVENTS, event_time)
    return recorded


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
    CERTIFICATE_ELSEWHERE: "events: certificates elsewhere",
    CERTIFICATE_TWICE: "events: certificates twice", EVENTS_ON_RECORD: "events: on record",
    AFTER_STORED_DEATH: "events: after stored death", DEATH_BEFORE_STORED: "events: death before stored",
    DROP_FAILED_EVENTS: "events: of failed rows", GIVEN_TWICE: "events: given twice",
    INSERT_GIVEN_EVENTS: "insert given life events", STORED_PERSONS_CHANGED: "events: persons projected",
    STORED_HOUSEHOLDS_CHANGED: "events: households projected", CERTIFICATES: "insert certificates",
    GIVEN_PERSON_EVENTS: "outbox person events", GIVEN_HOUSEHOLD_EVENTS: "outbox certificate.issued",
}


def _count(status: str) -> int:
    """Rows affected, from a command tag such as 'INSERT 0 12' or 'UPDATE 3'."""
    return int(status.rsplit(" ", 1)[-1])
