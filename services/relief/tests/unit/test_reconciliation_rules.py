"""Reconciliation: missing, extra and different, and what counts as agreeing."""

from relief.domain.reconciliation import Ours, Theirs, reconcile


def test_missing_extra_different_and_matched() -> None:
    ours = {
        e: Ours(e, s, 100)
        for e, s in [("A", "succeeded"), ("B", "succeeded"), ("C", "returned"), ("D", "succeeded"), ("E", "failed")]
    }
    theirs = [
        Theirs("A", "succeeded", 100),
        Theirs("C", "succeeded", 100),
        Theirs("C", "returned", 100),
        Theirs("D", "returned", 100),
        Theirs("B", "succeeded", 90),
        Theirs("X", "succeeded", 5),
        Theirs("E", "failed", None),
    ]
    result = reconcile(ours, theirs, expected={"A", "B", "D", "F"} & set(ours) | {"A"})
    assert result.matched == 4  # A, C twice (a return also paid out first), E
    assert [d["end_to_end_id"] for d in result.different] == ["D", "B"]
    assert result.extra == [{"end_to_end_id": "X", "state": "succeeded", "amount_fen": 5}]
    assert result.missing == []


def test_paid_but_absent_from_the_statement_is_missing() -> None:
    ours = {"A": Ours("A", "succeeded", 100)}
    result = reconcile(ours, [], expected={"A"})
    assert result.missing == [{"end_to_end_id": "A", "ours": "succeeded", "amount_fen": 100}]
