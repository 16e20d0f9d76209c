"""Bulk import of life events given on the rows (死亡日期, 残疾等级, 光荣证号, 低保类别) on real PostgreSQL
and NATS: the household facts they make, the events announced, re-import, events added to persons stored
earlier, and bad values reported per row."""

import asyncio
import json
import uuid
from datetime import date

import asyncpg
import nats
from registry_support import resident_id

from carekit.db.engine import asyncpg_dsn
from registry.adapters.import_files import csv_bytes
from registry.events import outgoing
from registry.service.imports.jobs import RunnerOptions

HEADER = ["户编号", "区划代码", "户口性质", "姓名", "公民身份号码", "与户主关系", "母亲身份号码", "父亲身份号码",
          "死亡日期", "残疾等级", "残疾评定日期", "光荣证号", "发证日期", "低保类别", "低保起始日期"]
VILLAGE = "360702001001"


def ids(n: int) -> tuple[str, str, str]:
    """Father, mother and child ID numbers of family n (1957/1959/1984 births: no other test uses them)."""
    return (resident_id(date(1957, 1, n), female=False, serial=60 + n),
            resident_id(date(1959, 2, n), female=True, serial=60 + n),
            resident_id(date(1984, 3, n), female=bool(n % 2), serial=60 + n))


def household_rows(ref: str, n: int, *, father: list[str] = (), mother: list[str] = (), child: list[str] = (),
           hukou: str = "农业") -> list[list[str]]:
    """Head, spouse and one child; the lists are the event cells (from 死亡日期 on) of each."""
    dad, mum, kid = ids(n)

    def cells(values: list[str]) -> list[str]:
        return [*values, *[""] * (7 - len(values))]

    return [
        [ref, VILLAGE, hukou, f"王{ref}", dad, "户主", "", "", *cells(father)],
        [ref, VILLAGE, "", f"李{ref}", mum, "配偶", "", "", *cells(mother)],
        [ref, VILLAGE, "", f"王小{ref}", kid, "子女", mum, dad, *cells(child)],
    ]


def the_file() -> list[list[str]]:
    nowhere = resident_id(date(1958, 4, 4), female=False, serial=70)
    rows = [
        *household_rows("EV-B", 1, child=["2019-05-06"]),  # bereaved: the only child died
        *household_rows("EV-D", 2, child=["", "二级", "2015-03-01"]),  # disabled only child
        *household_rows("EV-C", 3, father=["", "", "", "GR-0001", "1990-01-01"],  # certificate, given on both parents
                mother=["", "", "", "GR-0001", "1990-01-01"]),
        *household_rows("EV-L", 4, father=["", "", "", "", "", "低保", "2020-01-01"], hukou="非农业"),  # low income
    ]
    bad = [
        ["EV-X1", VILLAGE, "农业", "赵一", resident_id(date(1958, 1, 1), female=False, serial=71), "户主", "", "",
         "", "5", "2010-01-01", "", "", "", ""],  # grade 5
        ["EV-X2", VILLAGE, "农业", "赵二", resident_id(date(1958, 2, 2), female=False, serial=72), "户主", "", "",
         "1950-01-01", "", "", "", "", "", ""],  # death before birth
        ["EV-X3", VILLAGE, "农业", "赵三", nowhere, "户主", "", "", "", "", "", "GR-0002", "", "", ""],  # no date
    ]
    return [HEADER, *rows, *bad]


async def connect(client) -> asyncpg.Connection:  # noqa: ANN001
    return await asyncpg.connect(asyncpg_dsn(client._transport.app.state.test_database_url))


async def count(client, sql: str, *args) -> int:  # noqa: ANN001, ANN002
    conn = await connect(client)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def run_import(client, headers, content: bytes) -> dict:  # noqa: ANN001
    files = {"file": ("county.csv", content, "application/octet-stream")}
    response = await client.post("/v1/imports", headers=headers, files=files)
    assert response.status_code == 202, response.text
    await asyncio.wait_for(client._transport.app.state.import_runner.wait(uuid.UUID(response.json()["id"])), 120)
    job = await client.get(f"/v1/imports/{response.json()['id']}", headers=headers)
    assert job.status_code == 200, job.text
    return job.json()


async def report(client, headers, job_id: str) -> list[dict]:  # noqa: ANN001
    page = await client.get(f"/v1/imports/{job_id}/errors", headers=headers, params={"limit": 100})
    assert page.status_code == 200, page.text
    return page.json()["items"]


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


async def household_id(client, ref: str) -> str:  # noqa: ANN001
    conn = await connect(client)
    try:
        return str(await conn.fetchval("SELECT id FROM households WHERE external_ref = $1", ref))
    finally:
        await conn.close()


async def person_id(client, name: str) -> str:  # noqa: ANN001
    conn = await connect(client)
    try:
        return str(await conn.fetchval("SELECT id FROM persons WHERE name = $1", name))
    finally:
        await conn.close()


async def facts(client, headers, ref: str) -> dict:  # noqa: ANN001
    response = await client.get(f"/v1/households/{await household_id(client, ref)}/facts", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def events_of(client, headers, kind: str, key: str) -> list[tuple]:  # noqa: ANN001
    response = await client.get(f"/v1/{kind}/{key}/events", headers=headers)
    assert response.status_code == 200, response.text
    return sorted((e["kind"], e["effective_date"], e["source"], tuple(sorted(e["payload"].items())))
                  for e in response.json())


def same_facts(document: dict) -> dict:
    """Facts without their day, the parents in one order (the API lists them as the database returns them)."""
    return {k: v for k, v in document.items() if k != "as_of"} | {
        "parents": sorted(document["parents"], key=lambda p: p["person_id"])}


async def stored_totals(client) -> dict[str, int]:  # noqa: ANN001
    return {t: await count(client, f"SELECT count(*) FROM {t}")
            for t in ("households", "persons", "life_events", "household_facts", "certificates")}


async def test_a_file_with_life_events_makes_each_category(registry, caseworker) -> None:  # noqa: ANN001
    job = await run_import(registry, caseworker, csv_bytes(the_file(), "utf-8"))
    assert (job["status"], job["total"], job["done"], job["failed"]) == ("completed", 15, 15, 3)
    errors = await report(registry, caseworker, job["id"])
    assert {e["row"]: e["column"] for e in errors} == {14: "disability_grade", 15: "death_date",
                                                      16: "certificate_issued_on"}
    by_row = {e["row"]: e for e in errors}
    assert "1 to 4" in by_row[14]["message"] and by_row[14]["column_zh"] == "残疾等级"
    assert "before the person's birth" in by_row[15]["message"] and "出生日期" in by_row[15]["message_zh"]
    assert by_row[16]["column_zh"] == "发证日期" and "光荣证号" in by_row[16]["message_zh"]
    assert await count(registry, "SELECT count(*) FROM households WHERE external_ref LIKE 'EV-X%'") == 0

    bereaved = await facts(registry, caseworker, "EV-B")
    assert (bereaved["bereaved"], bereaved["living_children"], bereaved["children_ever"]) == (True, 0, 1)
    disabled = await facts(registry, caseworker, "EV-D")
    assert disabled["disabled_only_child"] and not disabled["bereaved"]
    certified = await facts(registry, caseworker, "EV-C")
    assert (certified["certificate_held"], certified["certificate_number"]) == (True, "GR-0001")
    poor = await facts(registry, caseworker, "EV-L")
    assert (poor["low_income"], poor["low_income_kinds"]) == (True, ["dibao"])
    assert not any(poor[k] for k in ("bereaved", "disabled_only_child", "certificate_held"))

    for ref, answered in (("EV-B", bereaved), ("EV-D", disabled), ("EV-C", certified), ("EV-L", poor)):
        stored = json.loads(await count(registry, "SELECT facts FROM household_facts f JOIN households h "
                                                  "ON h.id = f.household_id WHERE h.external_ref = $1", ref))
        assert same_facts(stored) == same_facts(answered), ref  # the facts stored at import equal the events'

    child = await person_id(registry, "王小EV-B")
    assert await events_of(registry, caseworker, "persons", child) == [
        ("birth", "1984-03-01", "import", ()), ("death", "2019-05-06", "import", ())]
    person = (await registry.get(f"/v1/persons/{child}", headers=caseworker)).json()
    assert person["death_date"] == "2019-05-06"
    assert ("disability_assessed", "2015-03-01", "import", (("grade", 2),)) in await events_of(
        registry, caseworker, "persons", await person_id(registry, "王小EV-D"))
    assert ("low_income_changed", "2020-01-01", "import", (("in_force", True), ("kind", "dibao"))) in await events_of(
        registry, caseworker, "persons", await person_id(registry, "王EV-L"))
    certificate_events = [e for e in await events_of(registry, caseworker, "households",
                                                     await household_id(registry, "EV-C"))
                          if e[0] == "certificate_issued"]
    assert certificate_events == [("certificate_issued", "1990-01-01", "import", (("number", "GR-0001"),))]
    found = await registry.get("/v1/search/persons", params={"certificate_number": "GR-0001"}, headers=caseworker)
    assert found.status_code == 200 and len(found.json()["items"]) == 3

    announced = await drained_events(registry)
    by_type: dict[str, list[dict]] = {}
    for event in announced:
        by_type.setdefault(event["type"], []).append(event["data"])
    died = by_type[outgoing.PERSON_DIED]
    assert [(d["person_id"], d["death_date"], d["effective_date"], d["kind"]) for d in died] == [
        (child, "2019-05-06", "2019-05-06", "death")]
    assert [d["grade"] for d in by_type[outgoing.PERSON_DISABILITY_CHANGED]] == [2]
    assert [(d["kind"], d["in_force"]) for d in by_type[outgoing.LOW_INCOME_CHANGED]] == [("dibao", True)]
    assert [d["number"] for d in by_type[outgoing.CERTIFICATE_ISSUED]] == ["GR-0001"]
    assert all(d["life_event_id"] and d["division_code"] == VILLAGE for t in (
        outgoing.PERSON_DIED, outgoing.CERTIFICATE_ISSUED) for d in by_type[t])
    facts_announced = {d["household_id"]: d["facts"] for d in by_type[outgoing.HOUSEHOLD_FACTS_CHANGED]}
    assert facts_announced[await household_id(registry, "EV-B")]["bereaved"] is True
    assert "王小EV-B" not in str(announced)


async def test_reimporting_the_file_changes_nothing(registry, caseworker) -> None:  # noqa: ANN001
    before, announced = await stored_totals(registry), len(await drained_events(registry))
    child = await person_id(registry, "王小EV-B")
    history = await events_of(registry, caseworker, "persons", child)
    job = await run_import(registry, caseworker, csv_bytes(the_file(), "utf-8"))
    assert (job["status"], job["done"], job["failed"]) == ("completed", 15, 3)
    assert await stored_totals(registry) == before
    assert await events_of(registry, caseworker, "persons", child) == history
    assert len(await drained_events(registry)) == announced
    assert (await facts(registry, caseworker, "EV-B"))["bereaved"] is True


async def test_events_given_later_for_persons_stored_earlier(registry, caseworker) -> None:  # noqa: ANN001
    """A county first imports its households, then a file of the same rows with their events: the
    events are added to the stored persons, the facts recomputed and announced, in worker processes."""
    plain = household_rows("EV-P", 5)
    await run_import(registry, caseworker, csv_bytes([HEADER, *plain], "utf-8"))
    assert (await facts(registry, caseworker, "EV-P"))["bereaved"] is False
    announced = len(await drained_events(registry))

    runner = registry._transport.app.state.import_runner
    saved = runner.options
    runner.options = RunnerOptions(chunk_rows=2, workers=2, writers=2, process_threshold_bytes=0)
    try:
        later = household_rows("EV-P", 5, child=["2024-08-09", "一级", "2010-01-01"],
                               father=["", "三级", "2020-01-01", "GR-0005", "1991-05-05"])
        job = await run_import(registry, caseworker, csv_bytes([HEADER, *later], "utf-8"))
    finally:
        runner.options = saved
    assert (job["done"], job["failed"]) == (3, 0)
    after = await facts(registry, caseworker, "EV-P")
    assert (after["bereaved"], after["certificate_held"], after["disabled_only_child"]) == (True, True, False)
    new = (await drained_events(registry))[announced:]
    assert sorted(e["type"] for e in new) == sorted([
        outgoing.PERSON_DIED, outgoing.PERSON_DISABILITY_CHANGED, outgoing.PERSON_DISABILITY_CHANGED,
        outgoing.CERTIFICATE_ISSUED, outgoing.HOUSEHOLD_FACTS_CHANGED])
    died = next(e["data"] for e in new if e["type"] == outgoing.PERSON_DIED)
    assert died["death_date"] == "2024-08-09" and died["person_id"] == await person_id(registry, "王小EV-P")

    # a death before an event on record, an assessment after the death on record: the rows fail, nothing
    # changes (the certificate given again is on record: skipped, not a clash)
    before = await stored_totals(registry)
    father_row = household_rows("EV-P", 5, father=["2000-01-01", "", "", "GR-0005", "1991-05-05"])[0]
    child_row = household_rows("EV-P", 5, child=["", "二级", "2025-01-01"])[2]
    clash = [father_row, child_row]
    job = await run_import(registry, caseworker, csv_bytes([HEADER, *clash], "utf-8"))
    assert job["failed"] == 2
    errors = await report(registry, caseworker, job["id"])
    assert [(e["row"], e["column"]) for e in errors] == [(2, "death_date"), (3, "disability_assessed_on")]
    assert "after this death date" in errors[0]["message"] and "已去世" in errors[1]["message_zh"]
    assert await stored_totals(registry) == before


async def test_a_certificate_number_of_another_household_is_refused(registry, caseworker) -> None:  # noqa: ANN001
    rows = household_rows("EV-Q", 6, father=["", "", "", "GR-0001", "1990-01-01"])  # EV-C holds GR-0001
    job = await run_import(registry, caseworker, csv_bytes([HEADER, *rows], "utf-8"))
    errors = await report(registry, caseworker, job["id"])
    assert [(e["row"], e["column"]) for e in errors] == [(2, "certificate_number"), (4, "father_id_number")]
    assert errors[0]["column_zh"] == "光荣证号" and "其他户" in errors[0]["message_zh"]  # the child: its father failed
    assert await count(registry, "SELECT count(*) FROM certificates WHERE number = 'GR-0001'") == 1
