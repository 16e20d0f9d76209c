"""A generated county loaded into the real registry (real PostgreSQL and NATS) through its public API:
every row imported, every life event recorded once, and the registry's own statistics see the same
families the generator made."""

from collections import Counter
from datetime import date

import pytest
import pytest_asyncio

from carekit.testing.service import running
from demo.county.divisions import county_townships
from demo.county.families import CountyGenerator
from demo.county.files import write_county
from demo.county.load import LoadReport, RegistryLoader
from registry.main import create_app
from registry.settings import RegistrySettings

COUNTY = "360702"


@pytest_asyncio.fixture(loop_scope="session")  # a fresh registry database for each test
async def registry(migrated_database, nats_url, tokens):
    url = await migrated_database("registry")
    app = create_app(RegistrySettings(database_url=url, nats_url=nats_url, environment="test"))
    async with running(app) as client:
        client.headers.update(tokens.headers(roles=["caseworker"], region=COUNTY, sub="demo-loader", ttl_seconds=3600))
        yield client


@pytest.mark.parametrize("events_in_file", [True, False], ids=["events-as-import-columns", "events-through-api"])
async def test_county_loads_and_the_registry_sees_the_same_families(registry, tokens, tmp_path, events_in_file):
    townships = county_townships(COUNTY, on=date(2026, 1, 1))
    households = list(CountyGenerator(seed=11, townships=townships).households(4_000))
    summary = write_county(iter(households), tmp_path, persons_per_file=2_500, events_in_file=events_in_file)
    before = await _categories(registry, tokens)
    loader = RegistryLoader(registry)

    report = LoadReport()
    for name in summary.files:
        await loader.import_file(tmp_path / name, report)
    await loader.record_events(tmp_path / "events.jsonl", report)

    assert report.errors == []
    assert (report.imported_rows, report.failed_rows) == (summary.persons, 0)
    assert report.events_recorded == (0 if events_in_file else sum(summary.events.values()))

    after = await _categories(registry, tokens)
    categories = {k: after[k] - before.get(k, 0) for k in after}
    kinds = Counter(h.kind for h in households)
    assert categories["total"] == len(households)
    assert categories["bereaved"] == kinds["bereaved"]
    assert categories["disabled_only_child"] == kinds["disabled_only_child"]
    assert categories["two_daughters"] == kinds["two_daughters"]
    assert categories["only_child"] == kinds["only_child"] + kinds["disabled_only_child"]
    assert categories["migrant"] == summary.migrants
    assert categories["low_income"] == summary.low_income
    assert categories["certificate_held"] == summary.events["certificate_issued"]

    again = LoadReport()
    for name in summary.files:
        await loader.import_file(tmp_path / name, again)
    await loader.record_events(tmp_path / "events.jsonl", again)
    assert (again.events_recorded, again.events_skipped) == (0, report.events_recorded)
    assert await _categories(registry, tokens) == after


async def _categories(registry, tokens) -> dict[str, int]:
    stats = (await registry.get("/v1/stats", params={"region": COUNTY})).raise_for_status().json()
    counts = {k: v["value"] or 0 for k, v in stats["households"]["by_category"].items()}
    return counts | {"total": stats["households"]["total"]["value"] or 0}
