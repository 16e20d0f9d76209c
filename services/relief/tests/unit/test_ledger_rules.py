"""Ledger rules without a database: validation, two-phase arithmetic, overdraft, replay, idempotency."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relief.domain.ledger import (
    Account,
    Balance,
    LedgerError,
    Transfer,
    TransferKind,
    apply,
    replay,
    reservation_shortfall,
    resolve,
    validate,
)

FUND = Account("fund:care", debits_must_not_exceed_credits=True, balance=Balance(credits_posted=1000))
EXPENSE = Account("expense:x")


def t(amount: int, kind: TransferKind = TransferKind.PENDING, pending: str | None = None, tid: str = "t1") -> Transfer:
    return Transfer(tid, "fund:care", "expense:x", amount, kind, pending)


@pytest.mark.parametrize("amount", [0, -1, -100])
def test_amount_must_be_positive(amount: int) -> None:
    with pytest.raises(LedgerError) as err:
        validate(t(amount))
    assert err.value.code == "amount-not-positive"


def test_same_account_refused() -> None:
    with pytest.raises(LedgerError, match="differ"):
        validate(Transfer("t", "fund:care", "fund:care", 5))


def test_second_phase_needs_pending_id_and_only_it() -> None:
    with pytest.raises(LedgerError):
        validate(t(5, TransferKind.POST_PENDING))
    with pytest.raises(LedgerError):
        validate(t(5, TransferKind.PENDING, pending="p"))


def test_pending_reserves_then_post_moves_and_void_releases() -> None:
    fund, exp = apply(FUND, EXPENSE, t(300))
    assert fund.balance.available == 700 and fund.balance.debits_pending == 300
    assert exp.balance.credits_pending == 300
    posted, exp2 = apply(fund, exp, t(300, TransferKind.POST_PENDING, "t1", "t2"))
    assert posted.balance == Balance(debits_posted=300, credits_posted=1000)
    assert exp2.balance == Balance(credits_posted=300)
    voided, exp3 = apply(fund, exp, t(300, TransferKind.VOID_PENDING, "t1", "t3"))
    assert voided.balance.available == 1000 and exp3.balance == Balance()


def test_fund_cannot_be_overdrawn_by_pending_or_posted() -> None:
    fund, exp = apply(FUND, EXPENSE, t(800))
    for kind in (TransferKind.PENDING, TransferKind.POSTED):
        with pytest.raises(LedgerError) as err:
            apply(fund, exp, t(201, kind, tid="t9"))
        assert err.value.code == "insufficient-funds"
    assert apply(fund, exp, t(200, tid="t9"))[0].balance.available == 0


def test_unguarded_account_may_go_negative_net() -> None:
    budget = Account("income:budget")
    new_budget, fund = apply(budget, Account("fund:care", True), Transfer("a", "income:budget", "fund:care", 10**9))
    assert new_budget.balance.debits_posted == 10**9 and fund.balance.available == 10**9


def test_resolve_requires_matching_unresolved_pending() -> None:
    pending = t(300)
    resolve(pending, t(300, TransferKind.POST_PENDING, "t1", "t2"), already_resolved=False)
    with pytest.raises(LedgerError, match="already"):
        resolve(pending, t(300, TransferKind.POST_PENDING, "t1", "t2"), already_resolved=True)
    with pytest.raises(LedgerError, match="equal"):
        resolve(pending, t(299, TransferKind.POST_PENDING, "t1", "t2"), already_resolved=False)
    with pytest.raises(LedgerError, match="not pending"):
        resolve(t(5, TransferKind.POSTED), t(5, TransferKind.VOID_PENDING, "t1", "t2"), already_resolved=False)


def test_same_body_ignores_only_the_id() -> None:
    assert t(5).same_body(t(5, tid="other"))
    assert not t(5).same_body(t(6))
    assert not t(5).same_body(t(5, TransferKind.POSTED))


def test_reservation_shortfall_is_all_or_nothing() -> None:
    assert reservation_shortfall(100, [50, 50]) == 0
    assert reservation_shortfall(100, [50, 51]) == 1


operations = st.lists(
    st.tuples(st.integers(1, 500), st.sampled_from(["pending", "posted", "post", "void"])), max_size=40
)


@given(operations)
def test_replay_equals_incremental_balances_and_fund_never_overdrawn(ops: list[tuple[int, str]]) -> None:
    fund, exp = FUND, EXPENSE
    journal: list[Transfer] = [Transfer("seed", "income:budget", "fund:care", 1000)]
    open_pending: list[Transfer] = []
    for n, (amount, op) in enumerate(ops):
        if op in ("post", "void"):
            if not open_pending:
                continue
            pending = open_pending.pop(0)
            kind = TransferKind.POST_PENDING if op == "post" else TransferKind.VOID_PENDING
            transfer = t(pending.amount, kind, pending.id, f"s{n}")
        else:
            transfer = t(amount, TransferKind(op), tid=f"t{n}")
        try:
            fund, exp = apply(fund, exp, transfer)
        except LedgerError as err:
            assert err.code == "insufficient-funds"
            continue
        journal.append(transfer)
        if transfer.kind == TransferKind.PENDING:
            open_pending.append(transfer)
        assert fund.balance.available >= 0
    assert replay("fund:care", journal) == fund.balance
    assert replay("expense:x", journal) == exp.balance
    debits = sum(b.debits_posted for b in (fund.balance, exp.balance, replay("income:budget", journal)))
    credits = sum(b.credits_posted for b in (fund.balance, exp.balance, replay("income:budget", journal)))
    assert debits == credits
