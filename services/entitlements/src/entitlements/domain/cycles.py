"""Benefit cycles: which period a cycle pays for, which policy versions may be cycled for it, and how
its approved lines are cut into the chunks relief receives (contract C2).

A period is a year (`2026`) or a month (`2026-03`); the population is evaluated as of its first day.
A yearly cash benefit is cycled by year, a monthly one by month; other kinds (once, in kind, flags) by
either. The period's first day must lie within the policy's effective dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from entitlements.domain.errors import PolicyError
from entitlements.domain.policy import BenefitKind, CheckedPolicy

CHUNK_SIZE = 1000  # lines per `entitlements.cycle.approved` event
PERIOD_PATTERN = r"^(?:19|[2-9][0-9])[0-9]{2}(?:-(?:0[1-9]|1[0-2]))?$"  # as the OpenAPI states it
_PERIOD = re.compile(r"^(?P<year>[0-9]{4})(?:-(?P<month>0[1-9]|1[0-2]))?\Z")
T = TypeVar("T")


@dataclass(frozen=True)
class Period:
    text: str
    start: date
    monthly: bool

    @staticmethod
    def parse(text: str) -> Period:
        match = _PERIOD.match(text or "")
        if match is None or int(match["year"]) < 1900:
            raise PolicyError("period", "A period is a year (2026) or a month (2026-03).",
                              "周期应为年份（如2026）或月份（如2026-03）。")
        month = match["month"]
        return Period(text=text, start=date(int(match["year"]), int(month or 1), 1), monthly=month is not None)


def check_cycle(checked: CheckedPolicy, period: Period) -> None:
    """PolicyError (422) when this policy version cannot be cycled for `period`."""
    policy = checked.policy
    if not checked.batch_ok:
        raise PolicyError("policy", "This policy version is outside the SQL subset: it cannot be cycled.",
                          "该政策版本超出批量计算支持的表达式范围，不能生成发放周期。")
    if not policy.in_force_on(period.start):
        until = policy.effective_to.isoformat() if policy.effective_to else "open"
        raise PolicyError("period", f"The period starts on {period.start.isoformat()}, outside the policy's dates "
                          f"({policy.effective_from.isoformat()} to {until}).",
                          f"周期起始日 {period.start.isoformat()} 不在政策有效期内"
                          f"（{policy.effective_from.isoformat()} 至 {until}）。")
    if policy.benefit.kind is BenefitKind.CASH_MONTHLY and not period.monthly:
        raise PolicyError("period", "A monthly benefit is cycled by month (e.g. 2026-03).",
                          "按月发放的待遇应按月生成周期（如2026-03）。")
    if policy.benefit.kind is BenefitKind.CASH_YEARLY and period.monthly:
        raise PolicyError("period", "A yearly benefit is cycled by year (e.g. 2026).",
                          "按年发放的待遇应按年生成周期（如2026）。")


def is_paid(kind: BenefitKind) -> bool:
    """Cash benefits go to relief for payment; other kinds are lists kept here."""
    return kind.unit == "fen"


def chunks(lines: Sequence[T], size: int = CHUNK_SIZE) -> Iterator[tuple[int, int, Sequence[T]]]:
    """(chunk number from 1, number of chunks, lines) in order; no chunk for no lines."""
    total = (len(lines) + size - 1) // size
    for index in range(total):
        yield index + 1, total, lines[index * size:(index + 1) * size]


def area_of(region_code: str) -> tuple[str, str]:
    """(county, township) prefixes of a 12-digit division code."""
    return region_code[:6], region_code[:9]
