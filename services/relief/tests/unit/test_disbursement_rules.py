"""Disbursement rules: report transitions under duplicates and disorder, holds, cards, masking."""

import uuid
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relief.domain.disbursement import (
    FINAL,
    Ledger,
    PaymentStatus,
    card_problem,
    end_to_end_id,
    hold_reason,
    mask_name,
    transition,
)

REPORTS = ["accepted", "succeeded", "failed", "returned", "unknown"]


@given(st.lists(st.sampled_from(REPORTS), max_size=12))
def test_any_sequence_of_reports_settles_the_pending_transfer_at_most_once(reports: list[str]) -> None:
    status = PaymentStatus.SENDING
    settled = 0
    for report in reports:
        step = transition(status, report)
        if step is None:
            continue
        if step.ledger in (Ledger.POST, Ledger.VOID, Ledger.POST_AND_REVERSE):
            settled += 1
        status = step.status
    assert settled <= 1
    if settled:
        assert status in FINAL


def test_transitions() -> None:
    assert transition(PaymentStatus.SENDING, "succeeded").ledger == Ledger.POST
    assert transition(PaymentStatus.SENDING, "failed").ledger == Ledger.VOID
    assert transition(PaymentStatus.SUCCEEDED, "returned").ledger == Ledger.REVERSE
    assert transition(PaymentStatus.SENDING, "returned").ledger == Ledger.POST_AND_REVERSE
    assert transition(PaymentStatus.RETURNED, "succeeded") is None  # the stale report after the return
    assert transition(PaymentStatus.SUCCEEDED, "succeeded") is None  # the duplicate
    assert transition(PaymentStatus.SENDING, "accepted") is None


def test_holds() -> None:
    pay_day = date(2026, 12, 1)
    assert hold_reason(True, True, None, pay_day) is None
    assert hold_reason(True, False, date(2026, 11, 30), pay_day).code == "payee-died"
    assert hold_reason(True, False, date(2026, 12, 1), pay_day) is None  # died on the day: paid
    assert hold_reason(False, True, None, pay_day).code == "payee-unknown"


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ("6222020200112233445", None),
        ("6222020200112233446", "bank-card-invalid"),
        ("", "no-bank-card"),
        (None, "no-bank-card"),
        ("62220abc", "bank-card-invalid"),
    ],
)
def test_cards(card: str | None, code: str | None) -> None:
    from stdnum import luhn

    if card and card.isdigit():  # make the check digit right, or wrong on purpose
        digit = int(luhn.calc_check_digit(card[:-1]))
        card = card[:-1] + str(digit if code is None else (digit + 1) % 10)
    problem = card_problem(card)
    assert (problem.code if problem else None) == code


def test_masks_and_ids() -> None:
    assert [mask_name(n) for n in ("张三", "张小三", "欧阳小明", "李")] == ["张*", "张*三", "欧**明", "*"]
    e2e = end_to_end_id(uuid.uuid4())
    assert len(e2e) <= 35 and e2e.isalnum()
