"""Daily reconciliation runs, stored with their findings; optionally the provider's final states are
applied to the differing payments (the provider is where the money actually moved)."""

import json
import uuid
from datetime import date

from sqlalchemy import text

from carekit.db.uow import UnitOfWork
from relief.domain.reconciliation import Ours, Result, Theirs, reconcile
from relief.service.payments import Report, apply_reports


async def _ours(
    uow: UnitOfWork, ids: list[str], day: date | None, region: str | None
) -> tuple[dict[str, Ours], set[str], set[str]]:
    """Our payments of the region (None: all) among `ids` or settled on `day`, those expected on the
    statement, and the ids of other regions' payments (theirs, not the run's business)."""
    rows = (
        await uow.session.execute(
            text(
                "SELECT end_to_end_id, status, amount_fen, region_code, "
                "(settled_at AT TIME ZONE 'Asia/Shanghai')::date AS day "
                "FROM payments WHERE end_to_end_id = ANY(:ids) "
                "OR (CAST(:day AS date) IS NOT NULL AND status = 'succeeded' "
                "AND (settled_at AT TIME ZONE 'Asia/Shanghai')::date = :day)"
            ),
            {"ids": ids, "day": day},
        )
    ).all()
    foreign = {r.end_to_end_id for r in rows if region is not None and not r.region_code.startswith(region)}
    rows = [r for r in rows if r.end_to_end_id not in foreign]
    ours = {r.end_to_end_id: Ours(r.end_to_end_id, r.status, r.amount_fen) for r in rows}
    expected = {r.end_to_end_id for r in rows if day is not None and r.status == "succeeded" and r.day == day}
    return ours, expected, foreign


async def run(
    uow: UnitOfWork,
    *,
    theirs: list[Theirs],
    day: date,
    source: str,
    actor: str,
    apply: bool,
    statement: bool,
    region: str | None,
) -> tuple[uuid.UUID, Result, int]:
    """A run over the payments of `region` (None: every region's, for services)."""
    ours, expected, foreign = await _ours(uow, [t.end_to_end_id for t in theirs], day if statement else None, region)
    theirs = [t for t in theirs if t.end_to_end_id not in foreign]
    result = reconcile(ours, theirs, expected)
    applied = 0
    if apply and result.different:
        states = {t.end_to_end_id: t.state for t in theirs}
        reports = [Report(d["end_to_end_id"], states[d["end_to_end_id"]]) for d in result.different]
        applied = (await apply_reports(uow, reports))["applied"]
    run_id = uuid.uuid4()
    await uow.session.execute(
        text(
            "INSERT INTO reconciliations (id, day, source, matched, missing, extra, different, items, run_by, region) "
            "VALUES (:id, :day, :source, :m, :mi, :ex, :di, CAST(:items AS jsonb), :by, :region)"
        ),
        {
            "id": run_id,
            "day": day,
            "source": source,
            "m": result.matched,
            "mi": len(result.missing),
            "ex": len(result.extra),
            "di": len(result.different),
            "by": actor,
            "region": region,
            "items": json.dumps(
                {"missing": result.missing, "extra": result.extra, "different": result.different, "applied": applied}
            ),
        },
    )
    return run_id, result, applied
