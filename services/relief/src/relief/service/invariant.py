"""The auditors' invariant check: debits equal credits, and every balance equals its journal's replay."""

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Each transfer contributes to its two accounts' four balance columns; the replay sums contributions.
_REPLAY_MISMATCHES = text("""
WITH legs AS (
    SELECT debit_account AS code,
           CASE kind WHEN 'pending' THEN amount WHEN 'posted' THEN 0 ELSE -amount END AS dp,
           CASE WHEN kind IN ('posted', 'post_pending') THEN amount ELSE 0 END AS dpo,
           0::bigint AS cp, 0::bigint AS cpo
    FROM ledger_transfers
    UNION ALL
    SELECT credit_account, 0, 0,
           CASE kind WHEN 'pending' THEN amount WHEN 'posted' THEN 0 ELSE -amount END,
           CASE WHEN kind IN ('posted', 'post_pending') THEN amount ELSE 0 END
    FROM ledger_transfers
), replay AS (
    SELECT code, sum(dp)::bigint AS dp, sum(dpo)::bigint AS dpo, sum(cp)::bigint AS cp, sum(cpo)::bigint AS cpo
    FROM legs GROUP BY code
)
SELECT a.code, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
       coalesce(r.dp, 0) AS r_dp, coalesce(r.dpo, 0) AS r_dpo, coalesce(r.cp, 0) AS r_cp, coalesce(r.cpo, 0) AS r_cpo
FROM ledger_accounts a LEFT JOIN replay r USING (code)
WHERE (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
      IS DISTINCT FROM (coalesce(r.dp, 0), coalesce(r.dpo, 0), coalesce(r.cp, 0), coalesce(r.cpo, 0))
""")

_TOTALS = text("""
SELECT count(*) AS accounts, coalesce(sum(debits_posted), 0)::bigint AS dpo,
       coalesce(sum(credits_posted), 0)::bigint AS cpo,
       coalesce(sum(debits_pending), 0)::bigint AS dp, coalesce(sum(credits_pending), 0)::bigint AS cp,
       count(*) FILTER (WHERE debits_must_not_exceed_credits
                        AND debits_pending + debits_posted > credits_posted) AS overdrawn,
       (SELECT count(*) FROM ledger_transfers) AS transfers
FROM ledger_accounts
""")

_BAD_SECOND_PHASE = text("""
SELECT s.id FROM ledger_transfers s JOIN ledger_transfers p ON p.id = s.pending_id
WHERE p.kind <> 'pending' OR s.debit_account <> p.debit_account OR s.credit_account <> p.credit_account
   OR s.amount <> p.amount
LIMIT 100
""")


@dataclass
class InvariantReport:
    ok: bool
    accounts: int
    transfers: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    problems: list[str] = field(default_factory=list)


async def check_ledger(session: AsyncSession) -> InvariantReport:
    # one snapshot for all three queries, so concurrent transfers cannot make a false alarm
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    totals = (await session.execute(_TOTALS)).one()
    problems: list[str] = []
    if totals.dpo != totals.cpo:
        problems.append(f"posted debits {totals.dpo} ≠ posted credits {totals.cpo}")
    if totals.dp != totals.cp:
        problems.append(f"pending debits {totals.dp} ≠ pending credits {totals.cp}")
    if totals.overdrawn:
        problems.append(f"{totals.overdrawn} fund account(s) overdrawn")
    for row in await session.execute(_REPLAY_MISMATCHES):
        problems.append(
            f"account {row.code}: balance ({row.debits_pending}, {row.debits_posted}, {row.credits_pending}, "
            f"{row.credits_posted}) ≠ replay ({row.r_dp}, {row.r_dpo}, {row.r_cp}, {row.r_cpo})"
        )
    for row in await session.execute(_BAD_SECOND_PHASE):
        problems.append(f"transfer {row.id} does not match its pending transfer")
    return InvariantReport(
        ok=not problems,
        accounts=totals.accounts,
        transfers=totals.transfers,
        debits_posted=totals.dpo,
        credits_posted=totals.cpo,
        debits_pending=totals.dp,
        credits_pending=totals.cp,
        problems=problems,
    )
