"""The floor of the registry import: the rows the issue requires for N persons, written by SQL alone.

No file, no checks, no encryption, no Python per row: synthetic households of three (two parents and a
child linked to both) generated inside PostgreSQL into unindexed temporary tables first (not timed), then
moved into the registry's real, migrated tables with one INSERT … SELECT per table, as the importer does:
households, persons (with their 9 indexes and foreign keys), one life event per person, household facts,
and the outbox rows (`registry.person.registered` per person; `registry.household.registered` and
`registry.household.facts_changed` per household), their CloudEvents JSON built by the database. One
backend, timed per statement. What the importer adds on top of this is its own work; this is what no
importer can avoid on this server.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg

SETUP = """
CREATE TEMP TABLE f_h AS
SELECT uuidv7() AS hid, uuidv7() AS reg_event, uuidv7() AS facts_event, g AS hh,
       '3607021002' || lpad((g % 99 + 1)::text, 2, '0') AS division_code
FROM generate_series(1, $1::int) g;
CREATE TEMP TABLE f_p AS
SELECT uuidv7() AS id, uuidv7() AS event_id, uuidv7() AS out_id, h.hid, h.hh, h.division_code, r.k,
       (ARRAY['head', 'spouse', 'child'])[r.k + 1] AS relation,
       CASE WHEN r.k = 1 THEN 'female' WHEN r.k = 0 THEN 'male' ELSE (ARRAY['male', 'female'])[h.hh % 2 + 1] END AS sex,
       date '1970-01-01' + (h.hh % 3650) + CASE WHEN r.k = 2 THEN 9000 ELSE 0 END AS birth_date,
       md5(h.hh::text || '-' || r.k) || md5(r.k::text || '-' || h.hh) AS id_index,
       decode(md5(h.hh::text) || md5(r.k::text) || md5(h.hh::text || r.k), 'hex') AS id_cipher
FROM f_h h, generate_series(0, 2) AS r(k);
ALTER TABLE f_p ADD COLUMN mother_id uuid, ADD COLUMN father_id uuid;
UPDATE f_p c SET father_id = f.id, mother_id = m.id FROM f_p f, f_p m
WHERE c.k = 2 AND f.hh = c.hh AND f.k = 0 AND m.hh = c.hh AND m.k = 1;
"""
ENVELOPE = ("convert_to(json_build_object('id', {id}, 'type', '{type}', 'source', '/guanhuai/registry', "
            "'time', now()::text, 'datacontenttype', 'application/json', 'subject', {subject}, "
            "'specversion', '1.0', 'data', {data})::text, 'UTF8')")
STATEMENTS = {
    "households": """
INSERT INTO households (id, division_code, hukou_type, address, status, version, created_by)
SELECT hid, division_code, 'rural', '某村' || hh || '号', 'active', 1, 'bench' FROM f_h ORDER BY hh""",
    "persons": """
INSERT INTO persons (id, household_id, name, name_pinyin, name_initials, sex, birth_date, relation, mother_id,
                     father_id, id_number_cipher, id_number_key_id, id_number_index, version)
SELECT id, hid, '王小' || hh, 'wang xiao ' || hh, 'wx', sex, birth_date, relation, mother_id, father_id,
       id_cipher, 'k1', id_index, 1
FROM f_p ORDER BY hh, k""",
    "life events": """
INSERT INTO life_events (id, household_id, person_id, kind, effective_date, recorded_by, source, payload)
SELECT event_id, hid, id, 'birth', birth_date, 'bench', 'import', '{}'::jsonb FROM f_p ORDER BY hh, k""",
    "household facts": """
INSERT INTO household_facts (household_id, division_code, as_of, facts)
SELECT hid, division_code, current_date, jsonb_build_object('living_children', 1, 'only_child', true)
FROM f_h ORDER BY hh""",
    "outbox person.registered": "INSERT INTO outbox (event_id, subject, payload) SELECT out_id, "
    "'registry.person.registered', " + ENVELOPE.format(
        id="out_id", type="registry.person.registered", subject="id::text",
        data="json_build_object('person_id', id, 'household_id', hid, 'division_code', division_code, "
             "'id_number_index', id_index, 'sex', sex, 'birth_date', to_char(birth_date, 'YYYY-MM-DD'), "
             "'relation', relation, 'mother_id', mother_id, 'father_id', father_id)") + " FROM f_p ORDER BY hh, k",
    "outbox household.registered": "INSERT INTO outbox (event_id, subject, payload) SELECT reg_event, "
    "'registry.household.registered', " + ENVELOPE.format(
        id="reg_event", type="registry.household.registered", subject="hid::text",
        data="json_build_object('household_id', hid, 'division_code', division_code, 'hukou_type', 'rural', "
             "'status', 'active')") + " FROM f_h ORDER BY hh",
    "outbox facts_changed": "INSERT INTO outbox (event_id, subject, payload) SELECT facts_event, "
    "'registry.household.facts_changed', " + ENVELOPE.format(
        id="facts_event", type="registry.household.facts_changed", subject="hid::text",
        data="json_build_object('household_id', hid, 'division_code', division_code, "
             "'facts', json_build_object('living_children', 1, 'only_child', true))") + " FROM f_h ORDER BY hh",
}


async def sql_floor(dsn: str, households: int) -> dict[str, Any]:
    """Write `households` × 3 persons' required rows into the migrated registry database at `dsn`."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SETUP.replace("$1::int", str(int(households))))
        await conn.execute("ANALYZE f_h; ANALYZE f_p")
        seconds: dict[str, float] = {}
        async with conn.transaction():
            for name, sql in STATEMENTS.items():
                started = time.perf_counter()
                await conn.execute(sql)
                seconds[name] = round(time.perf_counter() - started, 3)
            started = time.perf_counter()
        commit = round(time.perf_counter() - started, 3)
    finally:
        await conn.close()
    persons = households * 3
    total = sum(seconds.values()) + commit
    return {"persons": persons, "households": households, "statements_s": seconds, "commit_s": commit,
            "total_s": round(total, 2), "persons_per_s_one_backend": round(persons / total),
            "backend_us_per_person": round(total * 1e6 / persons, 1)}
