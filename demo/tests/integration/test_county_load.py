"""A generated county loaded into the real registry (real PostgreSQL and NATS) through its public API:
every row imported, every life event recorded once, and the registry's own statistics see the same
families the generator made."""

from collections import Counter
from datetime import date

import pytest_asyncio

from carekit.testing.service import running
from demo.county.divisions import county_townships
from demo.county.families import CountyGenerator
from demo.county.files import write_county
from demo.county.load import LoadReport, RegistryLoader
from registry.main import create_app
from registry.settings import RegistrySettings

COUNTY = "360702"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def registry(migrated_database, nats_url):
    url = await migrated_database("registry")
    app = create_app(RegistrySettings(database_url=url, nats_url=nats_url, environment="test"))
    async with running(app) as client:
        yield client


async def test_county_loads_and_the_registry_sees_the_same_families(registry, tokens, tmp_path):
    townships = county_townships(COUNTY, on=date(2026, 1, 1))
    households = list(CountyGenerator(seed=11, townships=townships).households(4_000))
    summary = write_county(iter(households), tmp_path, persons_per_file=2_500)
    registry.headers.update(tokens.headers(roles=["caseworker"], region=COUNTY, sub="demo-loader"))
    loader = RegistryLoader(registry)

    report = LoadReport()
    for name in summary.files:
        await loader.import_file(tmp_path / name, report)
    await loader.record_events(tmp_path / "events.jsonl", report)

    assert report.errors == []
    assert (report.imported_rows, report.failed_rows) == (summary.persons, 0)
    assert report.events_recorded == sum(summary.events.values())

    stats = (await registry.get("/v1/stats", params={"region": COUNTY})).raise_for_status().json()
    categories = {k: v["value"] for k, v in stats["households"]["by_category"].items()}
    kinds = Counter(h.kind for h in households)
    assert stats["households"]["total"]["value"] == len(households)
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
    stats_again = (await registry.get("/v1/stats", params={"region": COUNTY})).json()
    assert stats_again["households"] == stats["households"]
