from datetime import UTC, datetime, timedelta

import pytest

from notifications.domain.delivery import (
    CHINA,
    QuietHours,
    china_day_start,
    next_provider,
    retry_delay,
    send_not_before,
)

QUIET = QuietHours()


def china(h: int, m: int = 0, day: int = 24) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=CHINA)


@pytest.mark.parametrize(
    ("h", "m", "quiet"),
    [(20, 59, False), (21, 0, True), (23, 30, True), (0, 0, True), (7, 59, True), (8, 0, False), (12, 0, False)],
)
def test_quiet_hours_21_to_8_in_china(h: int, m: int, quiet: bool) -> None:
    assert QUIET.holds_at(china(h, m)) is quiet


def test_evening_message_waits_until_next_morning() -> None:
    assert send_not_before(china(22, 15), urgent=False, quiet=QUIET) == china(8, 0, day=25)
    assert send_not_before(china(6, 0), urgent=False, quiet=QUIET) == china(8, 0)


def test_urgent_and_daytime_messages_go_now() -> None:
    assert send_not_before(china(22, 15), urgent=True, quiet=QUIET) == china(22, 15)
    assert send_not_before(china(10, 0), urgent=False, quiet=QUIET) == china(10, 0)


def test_quiet_hours_use_china_time_whatever_the_input_zone() -> None:
    utc_noon = datetime(2026, 11, 24, 13, 30, tzinfo=UTC)  # 21:30 in China
    assert QUIET.holds_at(utc_noon)
    assert send_not_before(utc_noon, urgent=False, quiet=QUIET) == china(8, 0, day=25)


def test_backoff_doubles_and_caps() -> None:
    assert [retry_delay(a, base_seconds=2, max_seconds=30) for a in (1, 2, 3, 4, 5)] == [2, 4, 8, 16, 30]


def test_failover_rotates_providers() -> None:
    assert [next_provider(["aliyun", "tencent"], a) for a in range(4)] == ["aliyun", "tencent", "aliyun", "tencent"]


def test_caps_count_from_midnight_china() -> None:
    moment = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # 01:00 on the 25th in China
    assert china_day_start(moment) == china(0, 0, day=25)
    assert moment - china_day_start(moment) == timedelta(hours=1)


def test_messages_expire_after_their_ttl() -> None:
    from notifications.domain.delivery import is_expired

    created = china(10)
    assert not is_expired(created, created + timedelta(hours=72), timedelta(hours=72))
    assert is_expired(created, created + timedelta(hours=72, seconds=1), timedelta(hours=72))
