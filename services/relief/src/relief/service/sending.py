"""Background sending of approved batches: resumable, because every step's state is in the database.

The sender receives batch ids only. Per chunk (≤ 5,000 payments, claimed with SKIP LOCKED so several
replicas may work side by side; `concurrency` chunks in flight, so one is prepared while another is
submitted) it asks the registry for names, cards and life status (≤ 1,000 ids per call, concurrently),
holds the dead and fails bad cards without sending, marks the rest `sending` and COMMITS, and only then
submits to the provider. A submit left unanswered (timeout, broken connection, 5xx) is queried at once;
any other payment left `sending` (crash, restart, lost callback) is queried after `query_after_seconds`.
Only a payment the provider reports `unknown` goes back to `reserved` and is submitted again, with the
same end-to-end id (the provider never pays one id twice).
"""

import asyncio
import contextlib
import time
import uuid
from datetime import date

from sqlalchemy import text

from carekit.db.uow import UnitOfWork
from carekit.logging import get_logger
from carekit.runtime import ServiceRuntime
from relief.adapters.payments.base import PaymentInstruction, PaymentProvider, ProviderRejected, ProviderTimeout
from relief.adapters.registry import Payee, RegistryClient, RegistryUnavailable
from relief.domain.disbursement import PaymentStatus, Reason, card_problem, hold_reason, mask_name
from relief.service.payments import Report, apply_reports, close_unpaid

log = get_logger(__name__)
QUERY_CHUNK = 5000
MAX_CHUNK = 5000  # payments claimed, looked up (≤ 1,000 ids per registry call) and submitted at once
UNANSWERED_QUERY_DELAY = 0.5  # seconds between a submit left unanswered and the query about it
FINAL_REPORTS = frozenset({"succeeded", "failed", "returned"})
_CLAIM = text(
    "SELECT p.id, p.end_to_end_id, p.status, p.batch_id, p.line_id, p.policy_code, p.period, p.payee_person_id, "
    "p.household_id, p.region_code, p.amount_fen, b.fund_code, b.payment_date "
    "FROM payments p JOIN batches b ON b.id = p.batch_id "
    "WHERE p.batch_id = :batch AND p.status = 'reserved' LIMIT :n FOR UPDATE OF p SKIP LOCKED"
)


def report_of(status) -> Report:  # noqa: ANN001 - a provider PaymentStatus
    return Report(status.end_to_end_id, status.state, status.provider_ref, status.reason, status.occurred_at)


def verdict(payee: Payee | None, pay_day: date) -> tuple[Reason | None, Reason | None, str]:
    """Why a payee is held, what is wrong with the card, and the masked name for public posting."""
    hold = hold_reason(payee is not None, payee.alive if payee else False, payee.died_on if payee else None, pay_day)
    if hold or payee is None:
        return hold, None, ""
    return None, card_problem(payee.bank_card), mask_name(payee.name or "")


class Sender:
    def __init__(
        self,
        runtime: ServiceRuntime,
        provider: PaymentProvider,
        registry: RegistryClient,
        *,
        chunk: int = 1000,
        concurrency: int = 4,
        poll_seconds: float = 1.0,
        query_after_seconds: float = 5.0,
    ) -> None:
        self.runtime, self.provider, self.registry = runtime, provider, registry
        self.chunk, self.concurrency = min(chunk, MAX_CHUNK), concurrency
        self.poll_seconds, self.query_after = poll_seconds, query_after_seconds
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                busy = await self.round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the state is in the database; try again
                log.warning("sending round failed", error=repr(exc))
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.poll_seconds)
                self.wake.clear()

    async def round(self) -> bool:
        async with self.runtime.uow() as uow:
            batches = (
                (
                    await uow.session.execute(
                        text("SELECT id FROM batches WHERE status = 'sending' ORDER BY approved_at")
                    )
                )
                .scalars()
                .all()
            )
        busy = False
        for batch_id in batches:
            sent = await asyncio.gather(*(self._send_chunks(batch_id) for _ in range(self.concurrency)))
            queried = await self._query_stale(batch_id)
            busy = busy or any(sent) or queried
            await self._finish_if_done(batch_id)
        return busy

    async def _send_chunks(self, batch_id: uuid.UUID) -> bool:
        worked = False
        while True:
            started = time.perf_counter()
            instructions = await self._prepare_chunk(batch_id)
            if not instructions:
                break
            prepared = time.perf_counter()
            worked = True
            await self._submit(instructions)
            log.info(
                "chunk sent",
                batch_id=str(batch_id),
                count=len(instructions),
                prepare_ms=round((prepared - started) * 1000),
                submit_ms=round((time.perf_counter() - prepared) * 1000),
            )
        return worked

    async def _prepare_chunk(self, batch_id: uuid.UUID) -> list[PaymentInstruction] | None:
        async with self.runtime.uow() as uow:
            rows = (await uow.session.execute(_CLAIM, {"batch": batch_id, "n": self.chunk})).all()
            if not rows:
                return None
            try:
                asked = time.perf_counter()
                payees = await self.registry.payees([str(r.payee_person_id) for r in rows])
                log.debug("registry answered", count=len(rows), ms=round((time.perf_counter() - asked) * 1000))
            except RegistryUnavailable as exc:
                log.warning("registry unavailable; chunk stays reserved", error=str(exc))
                await asyncio.sleep(self.poll_seconds)
                return None
            instructions = await self._classify(uow, rows, payees)
            await uow.commit()  # `sending` is durable before the provider hears of it
        return instructions

    async def _classify(self, uow: UnitOfWork, rows, payees) -> list[PaymentInstruction]:  # noqa: ANN001
        held, bad, ready, reasons = [], [], [], {}
        masked: dict[uuid.UUID, str] = {}
        instructions = []
        checked: dict[tuple[str, date], tuple[Reason | None, Reason | None, str]] = {}
        for row in rows:
            key = (str(row.payee_person_id), row.payment_date)
            if key not in checked:  # once per payee and chunk: a household may have several payments
                checked[key] = verdict(payees.get(key[0]), key[1])
            hold, problem, masked_name = checked[key]
            payee = payees.get(key[0])
            if hold:
                held.append(row)
                reasons[row.id] = hold
            elif problem:
                bad.append(row)
                reasons[row.id] = problem
            else:
                ready.append(row)
                masked[row.id] = masked_name
                instructions.append(
                    PaymentInstruction(
                        row.end_to_end_id,
                        row.amount_fen,
                        payee.name or "",
                        payee.bank_card,
                        f"{row.policy_code} {row.period}",
                    )
                )
        await close_unpaid(uow, held, PaymentStatus.HELD, reasons)
        await close_unpaid(uow, bad, PaymentStatus.FAILED, reasons)
        if ready:
            await uow.session.execute(
                text(
                    "UPDATE payments p SET status = 'sending', attempts = attempts + 1, submitted_at = now(), "
                    "payee_name_masked = u.masked FROM unnest(CAST(:ids AS uuid[]), CAST(:masked AS text[])) "
                    "AS u(id, masked) WHERE p.id = u.id"
                ),
                {"ids": [r.id for r in ready], "masked": [masked[r.id] for r in ready]},
            )
        return instructions

    async def _submit(self, instructions: list[PaymentInstruction]) -> None:
        try:
            statuses = await self.provider.submit(instructions)
        except ProviderTimeout as exc:
            # no answer: the provider may or may not hold them; ask now rather than wait for the stale sweep
            log.warning("provider timeout; querying the payments", count=len(instructions), error=str(exc))
            await asyncio.sleep(UNANSWERED_QUERY_DELAY)
            await self._query([i.end_to_end_id for i in instructions])
            return
        except ProviderRejected as exc:
            log.error("provider rejected a chunk", count=len(instructions), reason=exc.reason)
            statuses = []
            reports = [
                Report(i.end_to_end_id, "failed", None, f"rejected by the provider: {exc.reason}") for i in instructions
            ]
            await self.apply(reports)
            return
        final = [report_of(s) for s in statuses if s.state in FINAL_REPORTS]
        if final:  # usually all "accepted": the results come by callback
            await self.apply(final)

    async def apply(self, reports: list[Report]) -> None:
        async with self.runtime.uow() as uow:
            await apply_reports(uow, reports)
            await uow.commit()

    async def _query_stale(self, batch_id: uuid.UUID) -> bool:
        async with self.runtime.uow() as uow:
            ids = (
                (
                    await uow.session.execute(
                        text(
                            "SELECT end_to_end_id FROM payments WHERE batch_id = :b AND status = 'sending' "
                            "AND submitted_at < now() - make_interval(secs => :after) ORDER BY id"
                        ),
                        {"b": batch_id, "after": self.query_after},
                    )
                )
                .scalars()
                .all()
            )
        return await self._query(ids)

    async def _query(self, ids: list[str]) -> bool:
        """Ask the provider about payments left `sending`: results are applied, a payment the provider
        never saw goes back to `reserved` (sent again with the same end-to-end id), the rest wait."""
        changed = False
        for start in range(0, len(ids), QUERY_CHUNK):
            chunk = ids[start : start + QUERY_CHUNK]
            try:
                statuses = await self.provider.query(chunk)
            except (ProviderTimeout, ProviderRejected) as exc:
                log.warning("provider query failed; trying later", error=str(exc))
                return changed
            async with self.runtime.uow() as uow:
                counts = await apply_reports(uow, [report_of(s) for s in statuses if s.state != "unknown"])
                unknown = [s.end_to_end_id for s in statuses if s.state == "unknown"]
                # never reached the provider: safe to send again; the rest are checked again later
                await uow.session.execute(
                    text(
                        "UPDATE payments SET status = CASE WHEN end_to_end_id = ANY(:unknown) THEN 'reserved' "
                        "ELSE status END, submitted_at = now() WHERE end_to_end_id = ANY(:ids) AND status = 'sending'"
                    ),
                    {"unknown": unknown, "ids": chunk},
                )
                await uow.commit()
            changed = changed or bool(unknown) or counts["applied"] > 0
        return changed

    async def _finish_if_done(self, batch_id: uuid.UUID) -> None:
        async with self.runtime.uow() as uow:
            await uow.session.execute(
                text(
                    "UPDATE batches SET status = 'done', updated_at = now() WHERE id = :b AND status = 'sending' "
                    "AND NOT EXISTS (SELECT 1 FROM payments WHERE batch_id = :b "
                    "AND status IN ('new', 'reserved', 'sending'))"
                ),
                {"b": batch_id},
            )
            await uow.commit()
