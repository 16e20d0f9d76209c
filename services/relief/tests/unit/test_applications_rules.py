"""Emergency relief rules: the path, maker ≠ checker, the second approver, the queue order."""

from datetime import UTC, datetime, timedelta

import pytest

from relief.domain.applications import (
    Application,
    ApplicationError,
    Status,
    approvals_needed,
    approve,
    mark_paid,
    queue_order,
    refuse,
    review,
    waited_hours,
)


def app(needed: int = 1) -> Application:
    return Application(Status.SUBMITTED, "maker", needed)


def test_happy_path() -> None:
    a = app()
    review(a, "township")
    assert approve(a, "county") is True and a.status == Status.APPROVED
    mark_paid(a, "fund-manager")
    assert a.status == Status.PAID


def test_maker_may_not_check() -> None:
    for step in (review, refuse):
        with pytest.raises(ApplicationError) as err:
            step(app(), "maker")
        assert err.value.code == "maker-checker" and err.value.status == 403


def test_reviewer_may_not_approve_and_second_approver_must_differ() -> None:
    a = app(needed=2)
    review(a, "township")
    with pytest.raises(ApplicationError, match="reviewer"):
        approve(a, "township")
    assert approve(a, "county-1") is False and a.status == Status.REVIEWED
    with pytest.raises(ApplicationError) as err:
        approve(a, "county-1")
    assert err.value.code == "second-approver-needed"
    assert approve(a, "county-2") is True


def test_threshold() -> None:
    assert approvals_needed(500_000, 500_000) == 1
    assert approvals_needed(500_001, 500_000) == 2


def test_steps_in_order_only() -> None:
    a = app()
    with pytest.raises(ApplicationError, match="needs it reviewed"):
        approve(a, "county")
    with pytest.raises(ApplicationError):
        mark_paid(a, "fm")
    refuse(a, "township")
    with pytest.raises(ApplicationError):
        review(a, "other")


def test_queue_puts_priority_first_then_oldest() -> None:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    items = [(False, now - timedelta(hours=50)), (True, now - timedelta(hours=1)), (True, now - timedelta(hours=5))]
    ordered = sorted(items, key=lambda i: queue_order(*i))
    assert ordered == [items[2], items[1], items[0]]
    assert waited_hours(now - timedelta(minutes=90), now) == 1.5
