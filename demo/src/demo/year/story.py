"""The year's stages, in order, each through public APIs only:

1. webhooks: a partner agency subscribes (notifications) to decision and payment events of the township,
   pointing at the demo receiver, which gets the `whsec_` secret to verify with;
2. township: a synthetic township is generated and loaded into the registry (bulk import + life events);
3. projection: wait until entitlements has projected every registry event (its consumer lag is 0);
4. cycles: an admin evaluates the year's cycles (frozen lines); 5. funds: a fund manager allocates what
   they need; 6. approval: an approver (not the admin) approves them, and relief makes payment batches;
7. payments: a fund manager (not the cycle's approver) approves each reserved batch; wait until the
   payment simulator has settled every payment;
8. sms: the payees' notices reach the SMS simulator and come back as delivery receipts;
9. death: the health agency reports an only child's death (signed partner intake); the parents'
   special assistance for bereaved families appears;
10. webhooks delivered, 11. the ledger invariant.

A stage that cannot go on records why (failed / blocked) and the stages that need it are skipped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx
from standardwebhooks import Webhook

from demo.county.divisions import county_townships
from demo.county.families import CountyGenerator, HouseholdRow
from demo.county.files import write_county
from demo.county.load import LoadReport, RegistryLoader
from demo.year.http import (
    Actors,
    StageFailed,
    StageTimeout,
    Urls,
    checked,
    metric_values,
    problem_text,
    wait_for,
)
from demo.year.summary import DeathResult, PolicyResult, YearSummary

CHINA = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 1, 1)
FINAL_PAYMENTS = {"succeeded", "failed", "returned", "held"}
HOOK_PARTNER = "demo-partner"


def china_today() -> date:
    return datetime.now(CHINA).date()


def year_policies(today: date) -> list[tuple[str, str]]:
    """(library policy code, period) of the year's cash cycles: yearly ones for the year, monthly ones for
    this month."""
    month = f"{today:%Y-%m}"
    return [
        ("rural-reward-assistance", str(today.year)),
        ("childcare-subsidy-2025", str(today.year)),
        ("special-assistance-bereaved", month),
        ("special-assistance-disabled", month),
    ]


class Reporter(Protocol):
    def start(self, key: str, description: str, total: float | None = None) -> None: ...
    def advance(self, key: str, amount: float = 1) -> None: ...
    def update(self, key: str, completed: float, total: float | None = None) -> None: ...
    def finish(self, key: str, note: str = "") -> None: ...


class QuietReporter:
    def start(self, key: str, description: str, total: float | None = None) -> None:
        pass

    def advance(self, key: str, amount: float = 1) -> None:
        pass

    def update(self, key: str, completed: float, total: float | None = None) -> None:
        pass

    def finish(self, key: str, note: str = "") -> None:
        pass


@dataclasses.dataclass
class StoryOptions:
    township: str = "360702100"  # 沙石镇
    county: str = "360702"
    persons: int = 3000
    seed: int = 2026
    run_tag: str = ""  # makes household refs, partner names and SMS unique per run (re-runs add families)
    workdir: Path = Path(".data/demo")
    stage_timeout: float = 300.0
    notifications: bool = True  # False: skip SMS and webhooks on purpose


class AnnualStory:
    def __init__(
        self,
        urls: Urls,
        actors: Actors,
        options: StoryOptions,
        reporter: Reporter | None = None,
        partner_tokens: Callable[[str], dict[str, str]] | None = None,
    ) -> None:
        self.urls, self.actors, self.options = urls, actors, options
        self.reporter = reporter or QuietReporter()
        self.tag = options.run_tag or f"s{options.seed}"
        self.summary = YearSummary(township=options.township, run_tag=self.tag)
        self.households: list[HouseholdRow] = []
        self.subscription_id: str | None = None
        self.partner = f"health-{self.tag}".lower()[:40]  # the health agency reporting through partner intake
        self.http = httpx.AsyncClient(timeout=60)
        self._blocked: dict[str, str] = {}

    # -- running ------------------------------------------------------------------------------------------

    async def run(self) -> YearSummary:
        try:
            await self._stage("notifications ready", self.notifications_ready)
            await self._stage("webhook subscription", self.subscribe, needs=("notifications ready",))
            await self._stage("township loaded", self.load_township)
            await self._stage("entitlements caught up", self.projection, needs=("township loaded",))
            await self._stage("cycles evaluated", self.create_cycles, needs=("entitlements caught up",))
            await self._stage("funds allocated", self.fund, needs=("cycles evaluated",))
            await self._stage("cycles approved", self.approve_cycles, needs=("funds allocated",))
            await self._stage("batches reserved", self.reserved_batches, needs=("cycles approved", "funds allocated"))
            await self._stage("payments settled", self.pay, needs=("batches reserved",))
            await self._stage("sms delivered", self.sms, needs=("payments settled", "notifications ready"))
            await self._stage("child's death reported", self.death, needs=("entitlements caught up",))
            await self._stage("webhooks delivered", self.webhooks, needs=("webhook subscription",))
            await self._stage("ledger invariant", self.invariant)
        finally:
            await self.http.aclose()
        return self.summary

    async def _stage(self, name: str, work: Callable[[], Awaitable[str | None]], needs: Sequence[str] = ()) -> None:
        stage = self.summary.stage(name)
        missing = [n for n in needs if self.summary.stage(n).status != "ok"]
        if missing:
            stage.status, stage.note = "skipped", f"needs {', '.join(missing)}"
            return
        started = time.monotonic()
        try:
            stage.note = await work() or ""
            stage.status = "ok"
        except SkipStage as exc:
            stage.status, stage.note = "skipped", str(exc)
        except StageTimeout as exc:
            stage.status, stage.note = "failed", str(exc)
        except StageFailed as exc:
            stage.status, stage.note = ("blocked" if isinstance(exc, Blocked) else "failed"), str(exc)
        except httpx.HTTPError as exc:
            stage.status, stage.note = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            stage.seconds = time.monotonic() - started
            self.reporter.finish(name, stage.status)

    async def _get(self, url: str, headers: dict[str, str], **params: Any) -> Any:
        return checked(await self.http.get(url, headers=headers, params=params or None), 200)

    # -- 0. notifications and the partner's subscription -----------------------------------------------

    async def notifications_ready(self) -> str:
        if not self.options.notifications:
            self.summary.notifications = False
            raise SkipStage("turned off (--no-sms-and-webhooks)")
        try:
            ready = await self.http.get(f"{self.urls.notifications}/readyz", timeout=5)
        except httpx.HTTPError as exc:
            self.summary.notifications = False
            where = self.urls.notifications
            raise SkipStage(f"notifications not reachable at {where} ({type(exc).__name__})") from None
        if ready.status_code != 200:
            self.summary.notifications = False
            raise SkipStage(f"notifications not ready ({ready.status_code})")
        return "SMS and webhooks on"

    async def subscribe(self) -> str:
        """One partner endpoint for every run: an existing subscription to it gets a new secret (so that
        deliveries of earlier runs' subscriptions verify too), else it is created."""
        url = f"{self.urls.receiver}/hooks/{HOOK_PARTNER}"
        subscriptions = f"{self.urls.notifications}/v1/webhooks/subscriptions"
        existing = [s for s in await self._get(subscriptions, self.actors.admin) if s["url"] == url and s["active"]]
        secrets = []
        for subscription in existing:
            rotated = await self.http.post(
                f"{subscriptions}/{subscription['id']}/rotate-secret",
                json={"overlap_hours": 0},
                headers=self.actors.admin,
            )
            secrets.append(checked(rotated, 200)["secret"])
        if existing:
            self.subscription_id = existing[0]["id"]
        else:
            # No region prefix: the subscription takes the admin's region (the township), and gets the events
            # whose data.region_code lies inside it (decisions and payments of the township's families).
            body = {
                "url": url,
                "event_types": ["entitlements.decision.*", "relief.payment.*"],
                "description": "demo partner receiver",
            }
            response = await self.http.post(subscriptions, json=body, headers=self.actors.admin)
            if response.status_code == 422 and "url" in response.text:
                raise Blocked(
                    f"notifications refuses {url}: {problem_text(response)} (set "
                    "NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS='[\"127.0.0.1/32\"]' for a local receiver)"
                )
            created = checked(response, 201)
            self.subscription_id = created["id"]
            secrets.append(created["secret"])
        for secret in secrets:
            checked(await self.http.put(f"{self.urls.receiver}/secrets/{HOOK_PARTNER}", json={"secret": secret}), 204)
        return f"{'rotated' if existing else 'created'} → {url}"

    # -- 1. the township -----------------------------------------------------------------------------------

    def generate(self) -> list[HouseholdRow]:
        townships = [
            t for t in county_townships(self.options.county, on=AS_OF) if t.code.startswith(self.options.township)
        ]
        if not townships:
            raise StageFailed(f"no township {self.options.township} in county {self.options.county}")
        generator = CountyGenerator(seed=self.options.seed, townships=townships, as_of=AS_OF)
        return [
            dataclasses.replace(h, ref=f"{h.ref[:9]}-{self.tag}-{n:06d}")
            for n, h in enumerate(generator.households(self.options.persons), start=1)
        ]

    async def load_township(self) -> str:
        self.households = await asyncio.to_thread(self.generate)
        folder = self.options.workdir / self.tag
        written = await asyncio.to_thread(write_county, iter(self.households), folder)
        self.summary.households, self.summary.persons = written.households, written.persons
        report = LoadReport()
        async with httpx.AsyncClient(
            base_url=self.urls.registry, headers=self.actors.caseworker, timeout=120
        ) as client:
            loader = RegistryLoader(client)
            self.reporter.start("township loaded", f"importing {written.persons:,} persons", len(written.files))
            for name in written.files:
                await loader.import_file(folder / name, report)
                self.reporter.advance("township loaded")
            text = await asyncio.to_thread((folder / "events.jsonl").read_text, encoding="utf-8")
            left = sum(1 for line in text.splitlines() if line)
            if left:  # life events the import file did not carry as columns go through the events API
                self.reporter.start("township loaded", f"recording {left:,} life events", left)
                await loader.record_events(
                    folder / "events.jsonl", report, lambda n: self.reporter.advance("township loaded", n)
                )
        self.summary.rows_refused = report.failed_rows
        self.summary.events_recorded = sum(written.events.values())
        if report.imported_rows == 0:
            raise StageFailed(f"nothing imported: {report.errors[:3]}")
        return (
            f"{written.households:,} households, {report.imported_rows:,} persons imported "
            f"({report.failed_rows} refused), {self.summary.events_recorded:,} life events"
        )

    # -- 2. the entitlements projection --------------------------------------------------------------------

    async def projection(self) -> str:
        """Caught up when the registry's outbox is empty and entitlements' consumers have nothing pending
        (lag and acks), twice in a row, and the last imported person is explained."""
        last = self.households[-1].members[-1].id_number
        person = await self.person_id(last)
        self.reporter.start("entitlements caught up", "waiting for the entitlements projection")
        calm = 0

        async def caught_up() -> bool:
            nonlocal calm
            registry = (await self.http.get(f"{self.urls.registry}/metrics")).text
            entitlements = (await self.http.get(f"{self.urls.entitlements}/metrics")).text
            pending = sum(metric_values(registry, "outbox_backlog", "registry"))
            pending += sum(metric_values(entitlements, "consumer_lag", "entitlements"))
            pending += sum(metric_values(entitlements, "consumer_ack_pending", "entitlements"))
            explained = await self.http.get(
                f"{self.urls.entitlements}/v1/persons/{person}/entitlements", headers=self.actors.caseworker
            )
            calm = calm + 1 if pending == 0 and explained.status_code == 200 else 0
            return calm >= 2

        await wait_for(caught_up, within=self.options.stage_timeout, what="the entitlements projection")
        return "registry outbox empty, entitlements consumer lag 0"

    async def person_id(self, id_number: str) -> str:
        found = await self._get(f"{self.urls.registry}/v1/search/persons", self.actors.caseworker, id_number=id_number)
        if not found["items"]:
            raise StageFailed(f"person {id_number[:6]}… not found in the registry")
        return str(found["items"][0]["id"])

    # -- 3. cycles, funds, approval -------------------------------------------------------------------------

    async def create_cycles(self) -> str:
        url = f"{self.urls.entitlements}/v1/cycles"
        for code, period in year_policies(china_today()):
            response = await self.http.post(url, json={"policy": code, "period": period}, headers=self.actors.admin)
            if response.status_code == 409 and "cycle" in response.json():  # a run before left it unapproved
                cycle = await self._get(f"{self.urls.entitlements}{response.json()['cycle']}", self.actors.admin)
            else:
                cycle = checked(response, 201)
            self.summary.policies.append(
                PolicyResult(policy=code, period=period, fund=cycle["fund"], cycle_id=cycle["id"])
            )
        self.reporter.start("cycles evaluated", "evaluating the year's cycles", len(self.summary.policies))
        for result in self.summary.policies:
            cycle = await wait_for(
                lambda r=result: self._cycle_in(r.cycle_id, ("ready", "approved")),
                within=self.options.stage_timeout,
                what=f"cycle {result.policy} ready",
            )
            result.lines, result.amount_fen = cycle["total_lines"], cycle["total_amount"]
            summary = await self._get(f"{url}/{result.cycle_id}/summary", self.actors.admin)
            result.without_payee = sum(c["without_payee"] for c in summary["counties"])
            self.reporter.advance("cycles evaluated")
        return ", ".join(f"{p.policy} {p.lines}" for p in self.summary.policies)

    async def _cycle_in(self, cycle_id: str | None, states: tuple[str, ...]) -> dict[str, Any] | None:
        cycle = await self._get(f"{self.urls.entitlements}/v1/cycles/{cycle_id}", self.actors.admin)
        return cycle if cycle["status"] in states else None

    async def fund(self) -> str:
        """Each fund the cycles name gets a budget allocation covering what they need (a donation tops up
        the special-assistance fund), unless it already has enough available."""
        needed: dict[str, int] = {}
        for p in self.summary.policies:
            if p.fund and p.lines:
                needed[p.fund] = needed.get(p.fund, 0) + p.amount_fen
        notes = []
        for code, amount in needed.items():
            fund = await self._open_fund(code)
            short = amount - fund["available_fen"]
            if short > 0:
                body = {"amount_fen": short, "document_no": f"章财社〔{china_today().year}〕{self.tag}号"}
                checked(
                    await self.http.post(
                        f"{self.urls.relief}/v1/funds/{fund['code']}/allocations",
                        json=body,
                        headers=self.actors.fund_manager,
                    ),
                    201,
                )
            if code == "FP-SPECIAL":
                donation = {
                    "donor_kind": "person",
                    "donor_name": "爱心人士",
                    "amount_fen": 100_000,
                    "memo": "关爱失独家庭",
                }
                checked(
                    await self.http.post(
                        f"{self.urls.relief}/v1/funds/{fund['code']}/donations",
                        json=donation,
                        headers=self.actors.fund_manager,
                    ),
                    201,
                )
            notes.append(f"{fund['code']} +{max(short, 0) / 100:,.0f} 元")
        return ", ".join(notes) or "nothing to fund"

    async def _open_fund(self, code: str) -> dict[str, Any]:
        """The relief fund for a policy's fund code, opened if missing."""
        found = await self.http.get(f"{self.urls.relief}/v1/funds/{code}", headers=self.actors.fund_manager)
        if found.status_code == 200:
            return found.json()
        body = {
            "code": code,
            "kind": "care_fund" if code == "FP-SPECIAL" else "budget_line",
            "name_zh": f"{code} 资金",
            "name_en": f"{code} fund",
            "region": self.options.county,
        }
        created = await self.http.post(f"{self.urls.relief}/v1/funds", json=body, headers=self.actors.fund_manager)
        if created.status_code == 201:
            return created.json()
        raise Blocked(f"relief cannot open fund {code!r} named by the policy library: {problem_text(created)}")

    async def approve_cycles(self) -> str:
        for p in self.summary.policies:
            cycle = await self._get(f"{self.urls.entitlements}/v1/cycles/{p.cycle_id}", self.actors.approver)
            if cycle["status"] == "ready":
                checked(
                    await self.http.post(
                        f"{self.urls.entitlements}/v1/cycles/{p.cycle_id}/approve", headers=self.actors.approver
                    ),
                    200,
                )
        return f"{len(self.summary.policies)} cycles approved by demo-approver"

    # -- 4. batches and payments ------------------------------------------------------------------------------

    def _paying(self) -> list[PolicyResult]:
        return [p for p in self.summary.policies if p.lines]

    async def reserved_batches(self) -> str:
        paying = self._paying()
        if not paying:
            return "no batch: the cycles have no lines"
        self.reporter.start("batches reserved", "waiting for relief's payment batches", len(paying))

        async def all_there() -> bool:
            batches = await self._get(f"{self.urls.relief}/v1/batches", self.actors.fund_manager, limit=200)
            by_cycle = {b["cycle_id"]: b for b in batches}
            for p in paying:
                batch = by_cycle.get(p.cycle_id)
                if batch:
                    p.batch_id, p.batch_status = batch["id"], batch["status"]
            self.reporter.update("batches reserved", sum(p.batch_status not in (None, "collecting") for p in paying))
            return all(p.batch_status not in (None, "collecting") for p in paying)

        await wait_for(all_there, within=self.options.stage_timeout, what="relief's payment batches", every=1)
        refused = []
        for p in paying:
            if p.batch_status == "refused":  # e.g. the fund was short: it has been topped up since
                again = await self.http.post(
                    f"{self.urls.relief}/v1/batches/{p.batch_id}/reserve", headers=self.actors.fund_manager
                )
                if again.status_code == 200:
                    p.batch_status = again.json()["status"]
                else:
                    refused.append(f"{p.policy}: {problem_text(again)}")
        if refused:
            raise StageFailed("batches refused: " + "; ".join(refused))
        return f"{len(paying)} batches reserved"

    async def pay(self) -> str:
        paying = self._paying()
        if not paying:
            return "nothing to pay (every subject had its line in an earlier cycle)"
        for p in paying:
            if p.batch_status == "reserved":
                checked(
                    await self.http.post(
                        f"{self.urls.relief}/v1/batches/{p.batch_id}/approve", headers=self.actors.fund_manager
                    ),
                    200,
                )
        total = sum(p.lines for p in paying)
        self.reporter.start("payments settled", f"paying {total:,} beneficiaries", total)

        async def settled() -> bool:
            done = open_ = 0
            for p in paying:
                batch = await self._get(f"{self.urls.relief}/v1/batches/{p.batch_id}", self.actors.fund_manager)
                p.batch_status = batch["status"]
                p.payments = type(p.payments)(
                    {k: v for k, v in batch["payments_by_status"].items() if k in FINAL_PAYMENTS}
                )
                p.paid_fen = batch["amount_fen_by_status"].get("succeeded", 0)
                done += sum(p.payments.values())
                open_ += sum(n for k, n in batch["payments_by_status"].items() if k not in FINAL_PAYMENTS)
            self.reporter.update("payments settled", done)
            return open_ == 0 and done > 0 and await self._simulator_idle()

        await wait_for(settled, within=self.options.stage_timeout, what="payments to settle", every=1)
        for p in paying:
            await self._payment_details(p)
        paid = self.summary.payments
        return f"{paid['succeeded']:,} paid, {paid['failed']} failed, {paid['held']} held"

    async def _simulator_idle(self) -> bool:
        stats = await self._get(f"{self.urls.payments}/_sim/stats", {})
        return stats.get("pending_events", 0) == 0

    async def _payment_details(self, p: PolicyResult) -> None:
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000} | ({"after": after} if after else {})
            page = await self._get(
                f"{self.urls.relief}/v1/batches/{p.batch_id}/payments", self.actors.fund_manager, **params
            )
            for payment in page:
                if payment["status"] == "succeeded":
                    p.paid_payees.append(payment["payee_person_id"])
                elif payment["reason"]:
                    p.reasons[payment["reason"]] += 1
            if len(page) < 1000:
                return
            after = page[-1]["id"]

    # -- 5. SMS ---------------------------------------------------------------------------------------------

    async def sms(self) -> str:
        payees = sorted({pid for p in self._paying() for pid in p.paid_payees})
        self.reporter.start("sms delivered", f"payment notices to {len(payees):,} payees", len(payees))
        notices: dict[str, dict[str, Any]] = {}
        gate = asyncio.Semaphore(16)

        async def notice_of(person: str) -> dict[str, Any] | None:
            async with gate:
                found = await self._get(
                    f"{self.urls.notifications}/v1/messages", self.actors.admin, person_id=person, limit=50
                )
            mine = [m for m in found if m["template_code"] == "payment_succeeded"]
            if mine and mine[0]["state"] == "queued":
                later = datetime.fromisoformat(mine[0]["not_before"]) - datetime.now(UTC)
                if later > timedelta(minutes=2):  # quiet hours (21:00–08:00 China time) hold non-urgent SMS
                    deferred.append(mine[0]["not_before"])
            return mine[0] if mine and mine[0]["state"] in ("delivered", "failed", "expired", "suppressed") else None

        deferred: list[str] = []

        async def all_final() -> bool:
            missing = [p for p in payees if p not in notices]
            for person, message in zip(missing, await asyncio.gather(*(notice_of(p) for p in missing)), strict=True):
                if message:
                    notices[person] = message
            self.reporter.update("sms delivered", len(notices))
            if deferred:
                raise SkipStage(f"{len(deferred)} notices held for quiet hours until {min(deferred)}")
            return len(notices) == len(payees)

        await wait_for(all_final, within=self.options.stage_timeout, what="payment notices delivered", every=1)
        s = self.summary
        s.count_sms(notices.values(), await self._simulator_message_ids())
        return f"{s.sms_delivered:,} delivered, {s.sms_suppressed} suppressed (no phone or deceased)"

    async def _simulator_message_ids(self) -> set[str]:
        ids: set[str] = set()
        offset = 0
        while True:
            page = await self._get(f"{self.urls.sms}/_sim/messages", {}, limit=1000, offset=offset)
            ids.update(str(m["message_id"]) for m in page["messages"])
            offset += len(page["messages"])
            if not page["messages"] or offset >= page["total"]:
                return ids

    # -- 6. a child's death --------------------------------------------------------------------------------

    def only_child_family(self) -> HouseholdRow:
        """An only-child family with both parents and the child alive and the mother 49 or over today."""
        today = china_today()
        dying = {e.id_number for h in self.households for e in h.events if e.kind in ("death", "disability_assessed")}
        for household in self.households:
            if household.kind != "only_child" or len(household.members) != 3:
                continue
            mother = household.members[1]
            if (today - mother.birth_date).days >= 49 * 366 and not dying & {m.id_number for m in household.members}:
                return household
        raise StageFailed("no only-child family with a mother of 49 or over in this township")

    async def death(self) -> str:
        started = time.monotonic()
        household = self.only_child_family()
        father, mother, child = household.members
        result = DeathResult(
            child_id=await self.person_id(child.id_number),
            parent_ids=[await self.person_id(father.id_number), await self.person_id(mother.id_number)],
        )
        self.summary.death = result
        secret = await self._health_partner()
        died_on = china_today() - timedelta(days=1)
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "type": "gov.health.death_reported",
            "source": f"/partners/{self.partner}",
            "time": datetime.now(UTC).isoformat(),
            "datacontenttype": "application/json",
            "data": {"id_number": child.id_number, "died_on": died_on.isoformat()},
        }
        body = json.dumps(event, ensure_ascii=False)
        msg_id = f"msg_{uuid.uuid4().hex}"
        now = datetime.now(UTC)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, now, body),
            "content-type": "application/cloudevents+json",
        }
        answer = checked(
            await self.http.post(f"{self.urls.registry}/v1/partner-events", content=body.encode(), headers=headers),
            200,
            202,
        )
        result.outcome = answer["outcome"]
        if result.outcome != "applied":
            raise StageFailed(f"the registry did not apply the death report: {answer}")
        self.reporter.start("child's death reported", "waiting for the parents' special assistance")
        mother_id = result.parent_ids[1]

        async def granted() -> bool:
            explained = await self._get(
                f"{self.urls.entitlements}/v1/persons/{mother_id}/entitlements", self.actors.caseworker
            )
            return any(
                e["policy"] == "special-assistance-bereaved" and e["eligible"] for e in explained["entitlements"]
            )

        await wait_for(granted, within=self.options.stage_timeout, what="special assistance for the bereaved")
        result.granted = True
        result.seconds = time.monotonic() - started
        return f"only child of household {household.ref} died {died_on}; parents granted in {result.seconds:.1f} s"

    async def _health_partner(self) -> str:
        """The county health commission as a registry partner; its secret (rotated if it exists already). A
        partner's remit is a county, a prefecture or the province, so a county admin registers it."""
        body = {"agency": self.partner, "name": "章贡区卫生健康委员会（演示）", "region": self.options.county}
        admin = self.actors.county_admin
        created = await self.http.post(f"{self.urls.registry}/v1/partners", json=body, headers=admin)
        if created.status_code == 409:
            rotated = await self.http.post(
                f"{self.urls.registry}/v1/partners/{self.partner}/rotate-secret", headers=admin
            )
            return str(checked(rotated, 200)["secret"])
        return str(checked(created, 201)["secret"])

    # -- 7. webhooks and the ledger -------------------------------------------------------------------------

    async def webhooks(self) -> str:
        """Every delivery of our subscription is final and the receiver verified what arrived."""
        self.reporter.start("webhooks delivered", "waiting for partner webhooks")

        async def drained() -> bool:
            pending = await self._get(
                f"{self.urls.notifications}/v1/webhooks/deliveries",
                self.actors.admin,
                subscription_id=self.subscription_id,
                state="pending",
                limit=1,
            )
            received = await self._get(f"{self.urls.receiver}/deliveries", {})
            self.reporter.update("webhooks delivered", received["count"])
            return not pending and received["count"] > 0

        await wait_for(drained, within=self.options.stage_timeout, what="webhook deliveries", every=1)
        if self.summary.death.granted:
            await wait_for(self._bereaved_webhook, within=60, what="the bereaved family's decision webhook")
            self.summary.death.webhook_seen = True
        received = await self._get(f"{self.urls.receiver}/deliveries", {})
        self.summary.webhooks_delivered = received["count"]
        self.summary.webhooks_rejected = received["rejected"]
        self.summary.webhooks_by_type = received["by_type"]
        if received["rejected"]:
            raise StageFailed(f"the receiver rejected {received['rejected']} deliveries (bad signatures)")
        return f"{received['count']:,} verified, {received['duplicates']} duplicates ignored"

    async def _bereaved_webhook(self) -> bool:
        parents = set(self.summary.death.parent_ids)
        received = await self._get(f"{self.urls.receiver}/deliveries", {})
        return any(
            e.get("type") == "entitlements.decision.granted"
            and e.get("data", {}).get("policy") == "special-assistance-bereaved"
            and e.get("data", {}).get("subject_id") in parents
            for e in received["events"]
        )

    async def invariant(self) -> str:
        result = await self._get(f"{self.urls.relief}/v1/ledger/invariant", self.actors.auditor)
        self.summary.invariant_ok = bool(result["ok"])
        self.summary.invariant_problems = list(result["problems"])
        if not result["ok"]:
            raise StageFailed("ledger invariant broken: " + "; ".join(result["problems"][:5]))
        return f"{result['transfers']:,} transfers over {result['accounts']} accounts balance"


class SkipStage(Exception):
    pass


class Blocked(StageFailed):
    """A precondition outside the demo's control (a service refuses what the story needs)."""
