"""Delivery rules for one SMS: states, quiet hours, retries and per-number caps (pure functions).

States: queued → sent → delivered | failed, and queued → expired (too old to be useful) or
queued → suppressed (opted out of marketing, cap reached, no phone). `not_before` defers a queued
message; quiet hours move it to the next morning instead of dropping it.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from carekit.china import CHINA


class MessageState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    SUPPRESSED = "suppressed"


FINAL = {MessageState.DELIVERED, MessageState.FAILED, MessageState.EXPIRED, MessageState.SUPPRESSED}


@dataclass(frozen=True)
class QuietHours:
    start: time = time(21, 0)
    end: time = time(8, 0)
    zone: ZoneInfo = CHINA

    def holds_at(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` itself when sending is allowed, else the end of this quiet period."""
        if not self.holds_at(moment):
            return moment
        local = moment.astimezone(self.zone)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end


def send_not_before(moment: datetime, *, urgent: bool, quiet: QuietHours) -> datetime:
    return moment if urgent else quiet.next_allowed(moment)


def retry_delay(attempt: int, *, base_seconds: float, max_seconds: float) -> float:
    """Exponential backoff after the `attempt`-th failed try (1-based)."""
    return min(max_seconds, base_seconds * 2 ** max(0, attempt - 1))


def next_provider(providers: list[str], attempt: int) -> str:
    """Failover: the first provider, then the next one after each failed try, round robin."""
    return providers[(attempt) % len(providers)]


def china_day_start(moment: datetime) -> datetime:
    """Midnight in China of `moment`'s day: per-number caps count from here."""
    local = moment.astimezone(CHINA)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def is_expired(created_at: datetime, now: datetime, ttl: timedelta) -> bool:
    return now - created_at > ttl
