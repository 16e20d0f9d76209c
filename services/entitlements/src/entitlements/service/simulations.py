"""Simulation: what a draft policy (or a change to an active one) would do on a date, against the
active version — counts and cost by county, newly eligible and no longer eligible — with the SQL path
in one read-only statement. Nothing is written."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from entitlements.domain.errors import PolicyError
from entitlements.domain.policy import CheckedPolicy, JurisdictionBasis
from entitlements.domain.sql_compiler import BatchQuery, compile_batch

NUMERIC_OUT_OF_RANGE = "22003"  # PostgreSQL: an integer overflow, which the batch path lets raise


def _renamed(query: BatchQuery, prefix: str) -> BatchQuery:
    """The query with its bind parameters renamed, so that two compiled queries share one statement."""
    sql = re.sub(r":([a-z_][a-z0-9_]*)\b", lambda m: f":{prefix}{m.group(1)}", query.sql)
    return BatchQuery(sql=sql, params={prefix + k: v for k, v in query.params.items()})


def _region(checked: CheckedPolicy, alias: str) -> str:
    if checked.policy.jurisdiction_basis is JurisdictionBasis.RESIDENCE:
        return f"COALESCE({alias}.residence_division_code, {alias}.division_code)"
    return f"{alias}.division_code"


def _batch(checked: CheckedPolicy, role: str) -> None:
    if not checked.batch_ok:
        raise PolicyError(role, "This policy is outside the SQL subset: it cannot be simulated.",
                          "该政策超出批量计算支持的表达式范围，不能模拟。")


async def simulate(session: AsyncSession, candidate: CheckedPolicy, current: CheckedPolicy | None, as_of: date,
                   region: str) -> dict[str, Any]:
    _batch(candidate, "policy")
    if not candidate.policy.in_force_on(as_of):
        raise PolicyError("as_of", "The simulated policy is not in force on that date.",
                          "模拟的政策在该日期不在有效期内。")
    if current is not None and not current.policy.in_force_on(as_of):
        current = None
    cand = _renamed(compile_batch(candidate, as_of, within=region), "c_")
    params = dict(cand.params)
    if current is not None:
        _batch(current, "current")
        cur = _renamed(compile_batch(current, as_of, within=region), "a_")
        params |= cur.params
        current_sql, current_region = cur.sql, _region(current, "cur")
    else:
        current_sql = ("SELECT NULL::text AS subject_id, NULL::text AS household_id, NULL::varchar AS division_code, "
                       "NULL::varchar AS residence_division_code, NULL::bigint AS amount WHERE FALSE")
        current_region = "NULL"
    sql = (
        f"WITH cand AS ({cand.sql}), cur AS ({current_sql})\n"
        f"SELECT substr(COALESCE({_region(candidate, 'cand')}, {current_region}), 1, 6) AS county,\n"
        "       count(cand.subject_id) AS eligible, COALESCE(sum(cand.amount), 0) AS cost,\n"
        "       count(cur.subject_id) AS current_eligible, COALESCE(sum(cur.amount), 0) AS current_cost,\n"
        "       count(*) FILTER (WHERE cur.subject_id IS NULL) AS newly_eligible,\n"
        "       count(*) FILTER (WHERE cand.subject_id IS NULL) AS no_longer_eligible\n"
        "FROM cand FULL JOIN cur ON cur.subject_id = cand.subject_id\n"
        "GROUP BY 1 ORDER BY 1"
    )
    try:
        rows = (await session.execute(text(sql), params)).all()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != NUMERIC_OUT_OF_RANGE:
            raise
        raise PolicyError("policy", "An integer in the policy's expressions goes beyond 64 bits for some subject "
                          "(CEL int): make the amount formula or the criteria smaller.",
                          "政策表达式中的整数对某些对象超出64位范围，请调小金额公式或条件中的数值。") from None
    counties = [{"county": r.county, "eligible": r.eligible, "cost": int(r.cost),
                 "current_eligible": r.current_eligible, "current_cost": int(r.current_cost),
                 "newly_eligible": r.newly_eligible, "no_longer_eligible": r.no_longer_eligible} for r in rows]
    totals = {key: sum(c[key] for c in counties) for key in ("eligible", "cost", "current_eligible", "current_cost",
                                                             "newly_eligible", "no_longer_eligible")}
    return {"as_of": as_of, "policy": candidate.policy.code, "unit": candidate.policy.benefit.unit,
            "compared_with_version": current.policy.version if current else None, "counties": counties,
            "totals": totals}
