"""The demo's year in small (~300 persons), through the same code as `guanhuai-demo run`, against the whole
platform on real ports: township loaded, cycles approved by someone other than their maker, funds
allocated, every approved line paid (or not, with a reason) through the payment simulator, the payees told
by SMS through the SMS simulator, partner webhooks delivered and verified, a child's death reported by the
health agency starting the parents' special assistance, and the ledger balancing."""

import pytest

from demo.year.http import Actors, Urls
from demo.year.story import AnnualStory, StoryOptions

TOWNSHIP = "360702100"  # 沙石镇


async def test_the_year_in_small(platform, tokens, tmp_path):
    urls = Urls(
        platform.registry,
        platform.entitlements,
        platform.relief,
        platform.notifications,
        platform.payments,
        platform.sms,
        platform.receiver,
    )
    actors = Actors.minted(tokens, TOWNSHIP[:6], TOWNSHIP)
    options = StoryOptions(
        township=TOWNSHIP, county=TOWNSHIP[:6], persons=300, seed=7, run_tag="e2e7", workdir=tmp_path, stage_timeout=40
    )
    summary = await AnnualStory(urls, actors, options).run()
    stages = {s.name: s for s in summary.stages}
    report = "\n".join(f"{s.name}: {s.status} {s.note}" for s in summary.stages)

    assert stages["township loaded"].status == "ok", report
    assert summary.rows_refused == 0 and summary.households > 50, report
    assert stages["entitlements caught up"].status == "ok", report
    assert stages["cycles evaluated"].status == "ok", report
    assert stages["child's death reported"].status == "ok", report
    assert summary.death.outcome == "applied" and summary.death.granted, report
    if stages["funds allocated"].status == "blocked":
        pytest.xfail(f"relief cannot fund the policy library's fund codes: {stages['funds allocated'].note}")

    assert all(s.status == "ok" for s in summary.stages), report
    paying = [p for p in summary.policies if p.lines]
    assert {p.policy for p in paying} >= {"rural-reward-assistance", "childcare-subsidy-2025"}, report
    for p in paying:
        settled = sum(p.payments.values())
        assert settled == p.lines - p.without_payee, (p, report)
        not_paid = settled - p.payments["succeeded"]
        assert sum(p.reasons.values()) == not_paid, p  # every payment not made says why
        assert all("card" in reason.lower() or "卡" in reason for reason in p.reasons), p.reasons
        assert p.paid_fen <= p.amount_fen and (p.paid_fen == p.amount_fen) == (p.payments["succeeded"] == p.lines)
    assert summary.payments["succeeded"] > 0
    assert summary.invariant_ok is True, summary.invariant_problems

    paid_payees = {pid for p in paying for pid in p.paid_payees}
    assert summary.sms_notices == len(paid_payees)
    with_phone = summary.sms_notices - summary.sms_suppressed
    assert with_phone > 0 and summary.sms_at_simulator >= with_phone
    assert summary.sms_delivered == with_phone

    assert summary.webhooks_delivered > 0 and summary.webhooks_rejected == 0
    assert summary.webhooks_by_type.get("relief.payment.succeeded", 0) == summary.payments["succeeded"]
    assert summary.death.webhook_seen
