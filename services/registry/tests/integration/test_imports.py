"""Bulk import (POST /v1/imports) on real PostgreSQL and NATS: a GB18030 file with 10 % bad rows, UTF-8
with BOM, XLSX, re-import, parent links across households, jurisdiction, roles, garbage uploads, and
the worker-process path with parallel writers."""

import asyncio
import io
import json
import uuid
from datetime import date, datetime

import asyncpg
import nats
import openpyxl
import pytest
from registry_support import COUNTY, resident_id

from carekit.db.engine import asyncpg_dsn
from registry.adapters.import_files import csv_bytes
from registry.events import outgoing
from registry.service.imports.jobs import RunnerOptions

HEADER_ZH = ["户编号", "区划代码", "户口性质", "住址", "现居住地区划代码", "姓名", "公民身份号码", "性别", "出生日期",
             "与户主关系", "手机号码", "银行卡号", "母亲身份号码", "父亲身份号码"]
HEADER_EN = ["household_ref", "division_code", "hukou_type", "address", "residence_division_code", "name",
             "id_number", "sex", "birth_date", "relation", "phone", "bank_card", "mother_id_number",
             "father_id_number"]
VILLAGES = ["360702001001", "360702100201", "360702100202", "360702101201"]
ID, SEX, BIRTH = 6, 7, 8


def families(prefix: str, count: int, serial: int, villages: list[str] = VILLAGES) -> list[list[str]]:
    """Rows of `count` families: head, spouse, and one child (even n) or a son and a daughter (odd n).

    ID numbers differ across prefixes through `serial` (sequence digits) and birth days."""
    rows = []
    for n in range(count):
        village, ref, s = villages[n % len(villages)], f"{prefix}{n:03d}", (serial + n) % 90 + 1
        father = resident_id(date(1970, 1, 1 + n % 28), female=False, serial=s, region=COUNTY if n % 3 else "360721")
        mother = resident_id(date(1972, 2, 1 + n % 28), female=True, serial=s)
        rows.append([ref, village, "农业" if n % 2 else "非农业", f"章贡区{prefix}{n}号", "", f"王{prefix}{n}", father,
                     "男", "", "户主", "13800138000" if n % 4 == 0 else "", "", "", ""])
        rows.append([ref, village, "", "", "", f"李{prefix}{n}", mother, "", "", "配偶", "", "", "", ""])
        for k in range(1 + n % 2):
            child = resident_id(date(2000 + k, 3, 1 + n % 28), female=bool(k), serial=s)
            name = f"王小{prefix}{n}{k}"
            rows.append([ref, village, "", "", "", name, child, "", "", "子女", "", "", mother, father])
    return rows


async def connect(client) -> asyncpg.Connection:  # noqa: ANN001
    return await asyncpg.connect(asyncpg_dsn(client._transport.app.state.test_database_url))


async def count(client, sql: str, *args) -> int:  # noqa: ANN001, ANN002
    conn = await connect(client)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def totals(client) -> dict[str, int]:  # noqa: ANN001
    return {t: await count(client, f"SELECT count(*) FROM {t}")
            for t in ("households", "persons", "life_events", "household_facts")}


async def imported(client, prefix: str) -> dict[str, int]:  # noqa: ANN001
    like = f"{prefix}%"
    return {
        "households": await count(client, "SELECT count(*) FROM households WHERE external_ref LIKE $1", like),
        "persons": await count(client, "SELECT count(*) FROM persons p JOIN households h ON h.id = p.household_id "
                                       "WHERE h.external_ref LIKE $1", like),
        "births": await count(client, "SELECT count(*) FROM life_events e JOIN households h ON h.id = e.household_id "
                                      "WHERE h.external_ref LIKE $1 AND e.kind = 'birth'", like),
        "facts": await count(client, "SELECT count(*) FROM household_facts f JOIN households h "
                                     "ON h.id = f.household_id WHERE h.external_ref LIKE $1", like),
    }


async def upload(client, headers, content: bytes, name: str = "families.csv"):  # noqa: ANN001, ANN201
    files = {"file": (name, content, "application/octet-stream")}
    return await client.post("/v1/imports", headers=headers, files=files)


async def run_import(client, headers, content: bytes, name: str = "families.csv") -> dict:  # noqa: ANN001
    response = await upload(client, headers, content, name)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/v1/imports/{response.json()['id']}"
    await asyncio.wait_for(client._transport.app.state.import_runner.wait(uuid.UUID(response.json()["id"])), 120)
    job = await client.get(f"/v1/imports/{response.json()['id']}", headers=headers)
    assert job.status_code == 200, job.text
    return job.json()


async def report(client, headers, job_id: str, limit: int = 3) -> list[dict]:  # noqa: ANN001
    errors, cursor = [], None
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        page = await client.get(f"/v1/imports/{job_id}/errors", headers=headers, params=params)
        assert page.status_code == 200, page.text
        errors += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return errors


async def drained_events(client) -> list[dict]:  # noqa: ANN001
    """Every event on the REGISTRY stream, once the relay has emptied the outbox."""
    for _ in range(300):
        if await count(client, "SELECT count(*) FROM outbox") == 0:
            break
        await asyncio.sleep(0.1)
    nc = await nats.connect(client._transport.app.state.settings.nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("REGISTRY")
        return [json.loads((await js.get_msg("REGISTRY", seq)).data)
                for seq in range(info.state.first_seq, info.state.last_seq + 1)]
    finally:
        await nc.close()


def gb18030_file_with_bad_rows() -> tuple[bytes, dict[int, str]]:
    rows = families("G", 14, 0)  # 49 rows: 7 families of 3, 7 of 4
    children = [i for i, r in enumerate(rows) if r[9] == "子女"]
    daughters = [i for i in children if int(rows[i][ID][16]) % 2 == 0]
    spoiled = {
        children[0]: ("id_number", lambda r: r.__setitem__(ID, r[ID][:-1] + ("1" if r[ID][-1] == "0" else "0"))),
        children[3]: ("birth_date", lambda r: r.__setitem__(BIRTH, "1980-13-45")),
        daughters[1]: ("sex", lambda r: r.__setitem__(SEX, "男")),  # her ID number says female
        children[9]: ("row", lambda r: r.pop()),  # malformed: one cell short
    }
    for index, (_, spoil) in spoiled.items():
        spoil(rows[index])
    nowhere = resident_id(date(1960, 1, 1), female=False, serial=77)
    rows.append(["G999", "360702999999", "农业", "", "", "赵无区", nowhere, "", "", "户主", "", "", "", ""])
    expected = {index + 2: column for index, (column, _) in spoiled.items()} | {len(rows) + 1: "division_code"}
    assert len(rows) == 50 and len(expected) == 5
    return csv_bytes([HEADER_ZH, *rows], "gb18030"), expected


async def test_gb18030_file_with_ten_percent_bad_rows(registry, caseworker) -> None:  # noqa: ANN001, F811
    content, expected = gb18030_file_with_bad_rows()
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")  # really GB18030
    job = await run_import(registry, caseworker, content)
    assert (job["status"], job["total"], job["done"], job["failed"]) == ("completed", 50, 50, 5)
    assert job["file_format"] == "csv"

    errors = await report(registry, caseworker, job["id"])
    assert {e["row"]: e["column"] for e in errors} == expected
    assert all(e["message"] and e["message_zh"] and e["column_zh"] for e in errors)
    by_column = {e["column"]: e for e in errors}
    assert "check character" in by_column["id_number"]["message"] and "校验码" in by_column["id_number"]["message_zh"]
    division = by_column["division_code"]
    assert division["column_zh"] == "区划代码" and "不在区划代码表" in division["message_zh"]
    assert "does not match" in by_column["sex"]["message"]
    assert "cells" in by_column["row"]["message"]

    assert await imported(registry, "G") == {"households": 14, "persons": 45, "births": 45, "facts": 14}
    events = await drained_events(registry)
    person_events = [e for e in events if e["type"] == outgoing.PERSON_REGISTERED]
    household_events = [e for e in events if e["type"] == outgoing.HOUSEHOLD_REGISTERED]
    facts_events = [e for e in events if e["type"] == outgoing.HOUSEHOLD_FACTS_CHANGED]
    assert (len(person_events), len(household_events), len(facts_events)) == (45, 14, 14)
    assert all(len(e["data"]["id_number_index"]) == 64 and e["data"]["division_code"].startswith(COUNTY)
               for e in person_events)
    assert all(e["specversion"] == "1.0" and e["source"] == "/guanhuai/registry" for e in events)
    assert "王G1" not in str(events) and "13800138000" not in str(events)  # no names, ID numbers, phones
    one_child = next(e for e in facts_events if e["data"]["facts"]["children_ever"] == 1)
    assert one_child["data"]["facts"]["only_child"] is True and len(one_child["data"]["facts"]["parents"]) == 2


async def test_reimporting_the_same_file_changes_nothing(registry, caseworker) -> None:  # noqa: ANN001, F811
    content, expected = gb18030_file_with_bad_rows()
    events_before = len(await drained_events(registry))
    before = await totals(registry)
    job = await run_import(registry, caseworker, content)
    assert (job["status"], job["done"], job["failed"]) == ("completed", 50, 5)
    assert {e["row"]: e["column"] for e in await report(registry, caseworker, job["id"], limit=50)} == expected
    assert await totals(registry) == before
    assert len(await drained_events(registry)) == events_before


async def test_household_read_and_facts_of_an_imported_family(registry, caseworker) -> None:  # noqa: ANN001, F811
    job = await run_import(registry, caseworker, csv_bytes([HEADER_ZH, *families("R", 2, 40)], "utf-8"))
    assert (job["done"], job["failed"]) == (7, 0)
    conn = await connect(registry)
    try:
        household_id = await conn.fetchval("SELECT id FROM households WHERE external_ref = 'R001'")
        stored = json.loads(await conn.fetchval("SELECT facts FROM household_facts WHERE household_id = $1",
                                                household_id))
        events = await conn.fetch("SELECT kind, source FROM life_events WHERE household_id = $1", household_id)
    finally:
        await conn.close()
    household = (await registry.get(f"/v1/households/{household_id}", headers=caseworker)).json()
    assert [m["relation"] for m in household["members"]] == ["head", "spouse", "child", "child"] or sorted(
        m["relation"] for m in household["members"]) == ["child", "child", "head", "spouse"]
    assert household["hukou_type"] == "rural" and household["address"] == "章贡区R1号"
    facts = (await registry.get(f"/v1/households/{household_id}/facts", headers=caseworker)).json()
    assert (facts["living_sons"], facts["living_daughters"], facts["only_child"]) == (1, 1, False)
    def same(document: dict) -> dict:  # the API lists the parents in the order the database returns them
        return {k: v for k, v in document.items() if k != "as_of"} | {
            "parents": sorted(document["parents"], key=lambda p: p["person_id"])}

    assert same(stored) == same(facts)
    assert sorted(e["kind"] for e in events) == ["birth"] * 4 and {e["source"] for e in events} == {"import"}


async def test_utf8_bom_and_xlsx_files(registry, caseworker) -> None:  # noqa: ANN001, F811
    bom = csv_bytes([HEADER_EN, *families("B", 3, 50)], "utf-8-sig")
    assert bom.startswith(b"\xef\xbb\xbf")
    job = await run_import(registry, caseworker, bom)
    assert (job["status"], job["total"], job["failed"]) == ("completed", 10, 0)
    assert (await imported(registry, "B"))["persons"] == 10

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER_ZH + ["登记日期"])
    for row in families("X", 3, 60):
        sheet.append(row + [""])
    # a newborn without an ID number: sex and birth date (an Excel date cell), registered on a given day
    sheet.append(["X000", VILLAGES[0], "", "", "", "王新生", "", "女", datetime(2024, 5, 6), "子女", "", "", "", "",
                  datetime(2024, 6, 1)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = await run_import(registry, caseworker, buffer.getvalue(), "families.xlsx")
    assert (job["status"], job["file_format"], job["total"], job["failed"]) == ("completed", "xlsx", 11, 0), \
        await report(registry, caseworker, job["id"])
    assert (await imported(registry, "X"))["persons"] == 11
    assert await count(registry, "SELECT count(*) FROM persons WHERE name = '王新生' AND birth_date = '2024-05-06' "
                                 "AND sex = 'female' AND id_number_index IS NULL") == 1
    assert await count(registry, "SELECT count(*) FROM life_events e JOIN persons p ON p.id = e.person_id "
                                 "WHERE p.name = '王新生' AND e.kind = 'registered' "
                                 "AND e.effective_date = '2024-06-01'") == 1
    again = await run_import(registry, caseworker, buffer.getvalue(), "families.xlsx")
    assert (again["done"], again["failed"]) == (11, 0)
    assert (await imported(registry, "X"))["persons"] == 11  # the newborn is found again by name and birth date


async def test_parent_links_across_households(registry, caseworker) -> None:  # noqa: ANN001, F811
    parents = families("P", 1, 70)[:2]  # a couple, their household first
    mother, father = parents[1][ID], parents[0][ID]
    child = resident_id(date(1995, 4, 4), female=True, serial=71)
    later = resident_id(date(1996, 4, 4), female=False, serial=72)
    rows = parents + [
        ["P100", VILLAGES[1], "农业", "", "", "王出嫁", child, "", "", "户主", "", "", mother, father],
        # a forward reference: this person's mother comes later in the file, in another household
        ["P200", VILLAGES[2], "农业", "", "", "周早", resident_id(date(2020, 1, 1), female=False, serial=73), "", "",
         "户主", "", "", later.replace(later, resident_id(date(1990, 1, 1), female=True, serial=74)), ""],
        ["P300", VILLAGES[2], "农业", "", "", "吴晚", resident_id(date(1990, 1, 1), female=True, serial=74), "", "",
         "户主", "", "", "", ""],
    ]
    job = await run_import(registry, caseworker, csv_bytes([HEADER_ZH, *rows], "utf-8"))
    assert (job["done"], job["failed"]) == (5, 1)
    assert [(e["row"], e["column"]) for e in await report(registry, caseworker, job["id"])] == [(5, "mother_id_number")]
    conn = await connect(registry)
    try:
        parents_household = await conn.fetchval("SELECT id FROM households WHERE external_ref = 'P000'")
    finally:
        await conn.close()
    facts = (await registry.get(f"/v1/households/{parents_household}/facts", headers=caseworker)).json()
    assert (facts["children_ever"], facts["only_child"], facts["single_daughter"]) == (1, True, True)


async def test_rows_outside_the_callers_region_are_errors(registry, tokens) -> None:  # noqa: ANN001, F811
    township = tokens.headers(roles=["caseworker"], region="360702001", sub="cw-township")
    rows = families("J", 2, 80, villages=["360702001001", "360702100201"])  # the second family lies elsewhere
    job = await run_import(registry, township, csv_bytes([HEADER_ZH, *rows], "utf-8"))
    assert (job["total"], job["failed"]) == (7, 4)
    errors = await report(registry, township, job["id"])
    assert {e["column"] for e in errors} == {"division_code"} and len(errors) == 4
    assert "outside your region" in errors[0]["message"] and "辖区" in errors[0]["message_zh"]
    assert (await imported(registry, "J"))["persons"] == 3
    other = tokens.headers(roles=["caseworker"], region="360703", sub="cw-elsewhere")
    assert (await registry.get(f"/v1/imports/{job['id']}", headers=other)).status_code == 404


async def test_only_caseworkers_and_admins_may_import(registry, tokens) -> None:  # noqa: ANN001, F811
    content = csv_bytes([HEADER_ZH, *families("N", 1, 85)], "utf-8")
    for role in ("auditor", "citizen", "service"):
        response = await upload(registry, tokens.headers(roles=[role], region=COUNTY), content)
        assert response.status_code == 403, role
        assert response.headers["content-type"] == "application/problem+json"
    assert (await upload(registry, {}, content)).status_code == 401


@pytest.mark.parametrize(("content", "name"), [
    (bytes(range(256)) * 40, "random.bin"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "picture.png"),
    (b"PK\x03\x04" + b"not really a zip" * 10, "broken.xlsx"),
    (b"", "empty.csv"),
    ("姓名,年龄\n张三,30\n".encode(), "wrong-headers.csv"),
    ("户编号,区划代码,户口性质,姓名,与户主关系,公民身份号码,公民身份号码\n".encode(), "twice.csv"),
    ("户编号,区划代码,户口性质,姓名\n".encode("gb18030"), "missing.csv"),
])
async def test_garbage_upload_is_422(registry, caseworker, content: bytes, name: str) -> None:  # noqa: ANN001, F811
    response = await upload(registry, caseworker, content, name)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:guanhuai:problem:bad-import-file"
    assert problem["errors"][0]["field"] == "file" and problem["errors"][0]["message_zh"]
    assert await count(registry, "SELECT count(*) FROM imports WHERE file_name = $1", name) == 0


async def test_worker_processes_and_parallel_writers(registry, caseworker) -> None:  # noqa: ANN001, F811
    runner = registry._transport.app.state.import_runner
    saved = runner.options
    runner.options = RunnerOptions(chunk_rows=9, workers=2, writers=2, process_threshold_bytes=0)
    try:
        rows = families("W", 24, 10)  # 84 rows, in chunks of about 9
        rows.append(["W900", VILLAGES[0], "农业", "", "", "孙后", resident_id(date(2015, 1, 1), female=True, serial=9),
                     "", "", "户主", "", "", rows[1][ID], ""])  # the mother is in the first chunk
        rows.append(rows[5][:])  # the same person again: a duplicate row
        job = await run_import(registry, caseworker, csv_bytes([HEADER_EN, *rows], "utf-8"))
    finally:
        runner.options = saved
    assert (job["status"], job["total"], job["failed"]) == ("completed", 86, 1)
    errors = await report(registry, caseworker, job["id"])
    assert [(e["row"], e["column"]) for e in errors] == [(87, "id_number")] and "row 7" in errors[0]["message"]
    assert await imported(registry, "W") == {"households": 25, "persons": 85, "births": 85, "facts": 25}
    first = await count(registry, "SELECT count(*) FROM persons c JOIN persons m ON m.id = c.mother_id "
                                  "WHERE c.name = '孙后' AND m.name = '李W0'")
    assert first == 1
