"""The auditors' invariant check: debits equal credits, and every balance equals its journal's replay.

A regional auditor's check covers the accounts of their region (balances, replays, totals, overdrafts);
that debits equal credits is proven over the whole ledger, and they are told only whether it holds."""

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Each transfer contributes to its two accounts' four balance columns; the replay sums contributions.
_REPLAY_MISMATCHES = """
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
WHERE {seen} AND (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
      IS DISTINCT FROM (coalesce(r.dp, 0), coalesce(r.dpo, 0), coalesce(r.cp, 0), coalesce(r.cpo, 0))
"""

_TOTALS = """
SELECT count(*) AS accounts, coalesce(sum(debits_posted), 0)::bigint AS dpo,
       coalesce(sum(credits_posted), 0)::bigint AS cpo,
       coalesce(sum(debits_pending), 0)::bigint AS dp, coalesce(sum(credits_pending), 0)::bigint AS cp,
       count(*) FILTER (WHERE debits_must_not_exceed_credits
                        AND debits_pending + debits_posted > credits_posted) AS overdrawn,
       (SELECT count(*) FROM ledger_transfers t WHERE {transfer_seen}) AS transfers
FROM ledger_accounts a WHERE {seen}
"""

_BALANCED = text("""
SELECT coalesce(sum(debits_posted), 0) = coalesce(sum(credits_posted), 0) AS posted,
       coalesce(sum(debits_pending), 0) = coalesce(sum(credits_pending), 0) AS pending
FROM ledger_accounts
""")

_BAD_SECOND_PHASE = """
SELECT s.id FROM ledger_transfers s JOIN ledger_transfers p ON p.id = s.pending_id
WHERE {second_seen} AND (p.kind <> 'pending' OR s.debit_account <> p.debit_account
   OR s.credit_account <> p.credit_account
   OR s.amount <> p.amount)
LIMIT 100
"""

# an account of the region (a prefix of a division code): its own region padded to 12 digits starts with it
_ACCOUNT_SEEN = "(a.region IS NOT NULL AND starts_with(rpad(a.region, 12, '0'), :region))"
_SEEN_CODES = "(SELECT a.code FROM ledger_accounts a WHERE " + _ACCOUNT_SEEN + ")"
# uncorrelated IN (…): one hashed set of the region's account codes, probed per transfer
_TRANSFER_SEEN = "({t}.debit_account IN " + _SEEN_CODES + " OR {t}.credit_account IN " + _SEEN_CODES + ")"


def _scoped(sql: str, region: str | None) -> text:
    """The query over every account (region None) or over the accounts of one region."""
    if region is None:
        return text(sql.format(seen="true", transfer_seen="true", second_seen="true"))
    return text(
        sql.format(
            seen=_ACCOUNT_SEEN, transfer_seen=_TRANSFER_SEEN.format(t="t"), second_seen=_TRANSFER_SEEN.format(t="s")
        )
    ).bindparams(region=region)


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


async def check_ledger(session: AsyncSession, region: str | None = None) -> InvariantReport:
    """The whole ledger (region None), or the accounts of one region."""
    # one snapshot for all the queries, so concurrent transfers cannot make a false alarm
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    totals = (await session.execute(_scoped(_TOTALS, region))).one()
    problems: list[str] = []
    if region is None:
        problems += _unbalanced(totals)
    else:
        balanced = (await session.execute(_BALANCED)).one()
        if not (balanced.posted and balanced.pending):
            problems.append("debits ≠ credits over the whole ledger (amounts only to the services)")
    if totals.overdrawn:
        problems.append(f"{totals.overdrawn} fund account(s) overdrawn")
    for row in await session.execute(_scoped(_REPLAY_MISMATCHES, region)):
        problems.append(
            f"account {row.code}: balance ({row.debits_pending}, {row.debits_posted}, {row.credits_pending}, "
            f"{row.credits_posted}) ≠ replay ({row.r_dp}, {row.r_dpo}, {row.r_cp}, {row.r_cpo})"
        )
    for row in await session.execute(_scoped(_BAD_SECOND_PHASE, region)):
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


def _unbalanced(totals) -> list[str]:  # noqa: ANN001 - a Row
    problems = []
    if totals.dpo != totals.cpo:
        problems.append(f"posted debits {totals.dpo} ≠ posted credits {totals.cpo}")
    if totals.dp != totals.cp:
        problems.append(f"pending debits {totals.dp} ≠ pending credits {totals.cp}")
    return problems
