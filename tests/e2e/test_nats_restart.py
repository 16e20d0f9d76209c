"""The year in small while NATS goes down and comes back in the middle: right after the cycles are
approved (their lines on their way to relief, decisions and payments still to flow to notifications),
NATS is stopped for a few seconds and started again on the same port and store. Everything still
happens exactly once: one payment per approved line, one SMS per paid payee, one webhook per
payment, and the ledger balances."""

import asyncio

from conftest import start_platform
from demo.year.http import Actors, Urls
from demo.year.story import AnnualStory, QuietReporter, StoryOptions

TOWNSHIP = "360702101"  # 水东镇
OUTAGE_SECONDS = 3.0


class RestartNatsAfter(QuietReporter):
    """Stops NATS as soon as a stage finishes, and starts it again a few seconds later."""

    def __init__(self, nats, stage: str) -> None:  # noqa: ANN001 - EmbeddedNats
        self.nats, self.stage, self.restarted = nats, stage, asyncio.Event()

    def finish(self, key: str, note: str = "") -> None:
        if key == self.stage:
            self.nats.stop()
            asyncio.get_running_loop().create_task(self._back())

    async def _back(self) -> None:
        await asyncio.sleep(OUTAGE_SECONDS)
        await asyncio.to_thread(self.nats.start)
        self.restarted.set()


async def test_everything_exactly_once_across_a_nats_restart(migrated_database, private_nats, tokens, tmp_path):
    async with start_platform(migrated_database, private_nats.url) as platform:
        urls = Urls(
            platform.registry,
            platform.entitlements,
            platform.relief,
            platform.notifications,
            platform.payments,
            platform.sms,
            platform.receiver,
        )
        reporter = RestartNatsAfter(private_nats, "cycles approved")
        options = StoryOptions(
            township=TOWNSHIP,
            county=TOWNSHIP[:6],
            persons=300,
            seed=17,
            run_tag="nats17",
            workdir=tmp_path,
            stage_timeout=60,
        )
        summary = await AnnualStory(urls, Actors.minted(tokens, TOWNSHIP[:6], TOWNSHIP), options, reporter).run()

    report = "\n".join(f"{s.name}: {s.status} {s.note}" for s in summary.stages)
    assert reporter.restarted.is_set(), report
    assert all(s.status == "ok" for s in summary.stages), report
    paying = [p for p in summary.policies if p.lines]
    assert paying, report
    for p in paying:
        assert sum(p.payments.values()) == p.lines - p.without_payee, (p, report)
    assert summary.invariant_ok is True, summary.invariant_problems
    paid_payees = {pid for p in paying for pid in p.paid_payees}
    assert summary.sms_notices == len(paid_payees)
    assert summary.sms_delivered == summary.sms_notices - summary.sms_suppressed
    assert summary.webhooks_rejected == 0
    assert summary.webhooks_by_type.get("relief.payment.succeeded", 0) == summary.payments["succeeded"]
