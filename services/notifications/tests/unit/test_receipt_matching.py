"""Which message a delivery receipt names, and what it makes of it (pure rules)."""

from notifications.domain.delivery import MessageState
from notifications.domain.receipts import NO_PHONE, can_wait, pick_by_reference, receipt_outcome

# One SendBatchSms BizId for two numbers, and a single send with its own id.
SENT = [("m1", "biz-1", "idx-a"), ("m2", "biz-1", "idx-b"), ("m3", "biz-2", "idx-a")]


def test_the_reference_and_the_number_pick_one_message_of_a_batch() -> None:
    wanted = [(0, "biz-1", "idx-b"), (1, "biz-1", "idx-a"), (2, "biz-2", "idx-a")]
    assert pick_by_reference(SENT, wanted) == {0: "m2", 1: "m1", 2: "m3"}


def test_a_number_not_in_the_batch_matches_nothing() -> None:
    assert pick_by_reference(SENT, [(0, "biz-1", "idx-c"), (1, "biz-9", "idx-a")]) == {}


def test_without_a_number_only_a_reference_naming_one_message_matches() -> None:
    assert pick_by_reference(SENT, [(0, "biz-2", NO_PHONE), (1, "biz-1", NO_PHONE)]) == {0: "m3"}


def test_two_messages_under_one_reference_and_number_are_ambiguous() -> None:
    sent = [("m1", "biz-1", "idx-a"), ("m2", "biz-1", "idx-a")]
    assert pick_by_reference(sent, [(0, "biz-1", "idx-a")]) == {}


def test_a_message_listed_twice_is_still_one_message() -> None:
    sent = [("m1", "biz-1", None), ("m1", "biz-1", None)]
    assert pick_by_reference(sent, [(0, "biz-1", NO_PHONE)]) == {0: "m1"}


def test_only_a_receipt_with_a_usable_provider_id_can_wait_for_its_message() -> None:
    assert can_wait("biz-1")
    assert not can_wait(None) and not can_wait("")
    assert not can_wait("x" * 97)  # longer than any provider id we record


def test_a_receipt_moves_a_message_to_delivered_or_failed_with_its_code() -> None:
    assert receipt_outcome(True, None) == (MessageState.DELIVERED, None)
    assert receipt_outcome(False, "MI:0013") == (MessageState.FAILED, "MI:0013")
