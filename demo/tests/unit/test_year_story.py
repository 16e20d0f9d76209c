"""The demo's year without servers: which cycles it runs, the township it generates, the family whose
child's death it reports, how stages depend on each other, and how it reads the services' metrics."""

import re
from datetime import date
from pathlib import Path

import pytest

from demo.county.divisions import REPO_ROOT
from demo.year.http import Actors, StageTimeout, Urls, metric_values, wait_for
from demo.year.story import AnnualStory, Blocked, StoryOptions, year_policies
from demo.year.summary import YearSummary

LIBRARY = REPO_ROOT / "services" / "entitlements" / "policies"
HEADERS = {"Authorization": "Bearer x"}


def story(tmp_path: Path, **options: object) -> AnnualStory:
    actors = Actors(HEADERS, HEADERS, HEADERS, HEADERS, HEADERS, HEADERS)
    return AnnualStory(Urls(), actors, StoryOptions(persons=400, seed=5, workdir=tmp_path, **options))


def library() -> dict[str, str]:
    """code → benefit kind of every policy in the entitlements library (read as data)."""
    found = {}
    for path in LIBRARY.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        code = re.search(r"^code: (\S+)", text, re.M)
        kind = re.search(r"^  kind: (\S+)", text, re.M)
        assert code and kind, path
        found[code.group(1)] = kind.group(1)
    return found


def test_the_years_cycles_are_library_cash_policies_with_periods_of_their_kind():
    cycles = year_policies(date(2026, 11, 24))
    kinds = library()
    assert {code for code, _ in cycles} == {
        "rural-reward-assistance",
        "childcare-subsidy-2025",
        "special-assistance-bereaved",
        "special-assistance-disabled",
    }
    for code, period in cycles:
        assert kinds[code] in ("cash_yearly", "cash_monthly"), code
        assert period == ("2026" if kinds[code] == "cash_yearly" else "2026-11"), code


def test_the_township_is_deterministic_and_its_household_refs_belong_to_the_run(tmp_path):
    first, again = story(tmp_path).generate(), story(tmp_path).generate()
    other_run = story(tmp_path, run_tag="r2").generate()
    assert [h.ref for h in first] == [h.ref for h in again]
    assert all(h.ref.startswith("360702100-s5-") and h.division_code.startswith("360702100") for h in first)
    assert len({h.ref for h in first}) == len(first)
    assert not {h.ref for h in first} & {h.ref for h in other_run}
    assert sum(len(h.members) for h in first) >= 400


def test_the_death_is_reported_for_an_only_child_whose_mother_is_49_or_over(tmp_path):
    year = story(tmp_path)
    year.households = year.generate()
    family = year.only_child_family()
    father, mother, child = family.members
    assert family.kind == "only_child" and child.relation == "子女"
    assert (date.today() - mother.birth_date).days >= 49 * 365
    assert not any(e.kind == "death" for e in family.events)

    year.households = [h for h in year.households if h.kind != "only_child"]
    with pytest.raises(Exception, match="no only-child family"):
        year.only_child_family()


async def test_a_stage_that_fails_skips_the_stages_that_need_it(tmp_path):
    year = story(tmp_path)

    async def blocked() -> str:
        raise Blocked("relief refuses the fund code")

    async def fine() -> str:
        return "done"

    await year._stage("funds allocated", blocked)
    await year._stage("cycles approved", fine, needs=("funds allocated",))
    await year._stage("ledger invariant", fine)
    stages = {s.name: s for s in year.summary.stages}
    assert (stages["funds allocated"].status, stages["funds allocated"].note) == (
        "blocked",
        "relief refuses the fund code",
    )
    assert stages["cycles approved"].status == "skipped" and "funds allocated" in stages["cycles approved"].note
    assert stages["ledger invariant"].status == "ok"
    assert not year.summary.ok  # a blocked stage fails the run
    await year.http.aclose()


def test_the_run_is_ok_only_when_every_stage_went_through_and_the_ledger_balances():
    summary = YearSummary(township="360702100", run_tag="t")
    summary.stage("payments settled").status = "ok"
    summary.stage("sms delivered").status = "skipped"
    assert not summary.ok  # the invariant was never checked
    summary.invariant_ok = True
    assert summary.ok
    summary.stage("webhooks delivered").status = "failed"
    assert not summary.ok


async def test_waiting_gives_up_with_a_timeout_naming_what_it_waited_for():
    calls = []

    async def never() -> None:
        calls.append(1)

    with pytest.raises(StageTimeout, match="the batches"):
        await wait_for(never, within=0.05, what="the batches", every=0.01)
    assert len(calls) >= 2


def test_metric_values_are_read_per_service():
    text = (
        "# HELP consumer_lag Messages not yet delivered\n"
        'consumer_lag{consumer="entitlements-registry-facts",service="entitlements"} 12.0\n'
        'consumer_lag{consumer="relief-cycles",service="relief"} 3.0\n'
        'consumer_ack_pending{consumer="entitlements-registry-facts",service="entitlements"} 0.0\n'
    )
    assert metric_values(text, "consumer_lag", "entitlements") == [12.0]
    assert metric_values(text, "consumer_ack_pending", "entitlements") == [0.0]
    assert metric_values(text, "outbox_backlog", "registry") == []
