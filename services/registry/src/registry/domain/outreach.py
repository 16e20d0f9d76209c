"""Outreach (包村包户): village assignments, the caseworker's worklist order, and the visit log rules.

Pure: no storage. The service layer loads the households and their last visits.

Assignments
  A caseworker is responsible for villages. Each assigned code is a 12-digit village-level code, in
  force in the division table on the day of the assignment, and inside the region of the admin who
  assigns it.

Worklist order
  1. care: bereaved (失独) and disabled-only-child (伤残) households, whatever their visits;
  2. not visited this calendar year (never visited included);
  3. the rest (visited this year).
  Inside each tier: never visited first, then the longest since the last visit, then by household id
  so that the order is total and pages do not overlap.

Visits
  A visit has a kind (below), a date that is not in the future, and notes. The log records care
  given; it holds no pregnancy, contraception or sterilisation data, and notes are free text that
  caseworkers are told to keep to the care given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from registry.domain.divisions import DivisionLevel, DivisionTable, check_code, level_of
from registry.domain.errors import FieldError

CARE_CATEGORIES = frozenset({"bereaved", "disabled_only_child"})
MAX_VILLAGES = 500
MAX_NOTES = 2000


class VisitKind(StrEnum):
    SPRING_FESTIVAL = "spring_festival"  # 春节走访慰问
    HOME_SERVICE = "home_service"  # 上门服务
    PSYCHOLOGICAL_SUPPORT = "psychological_support"  # 心理慰藉
    HEALTH_CHECK = "health_check"  # 免费体检
    ROUTINE = "routine"  # 日常走访


class Priority(StrEnum):
    CARE = "care"  # bereaved or disabled-only-child
    NOT_VISITED_THIS_YEAR = "not_visited_this_year"
    VISITED_THIS_YEAR = "visited_this_year"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Priority.CARE: 0, Priority.NOT_VISITED_THIS_YEAR: 1, Priority.VISITED_THIS_YEAR: 2}


def priority_of(categories: Iterable[str], last_visit: date | None, today: date) -> Priority:
    if CARE_CATEGORIES.intersection(categories):
        return Priority.CARE
    if last_visit is None or last_visit.year < today.year:
        return Priority.NOT_VISITED_THIS_YEAR
    return Priority.VISITED_THIS_YEAR


@dataclass(frozen=True)
class WorklistEntry:
    household_id: str
    village: str
    categories: tuple[str, ...]
    last_visit: date | None
    priority: Priority


WorklistKey = tuple[int, str, str]


def worklist_key(entry: WorklistEntry) -> WorklistKey:
    """The sort key: tier, last visit (never visited sorts first), household id. JSON-safe, for cursors."""
    return entry.priority.rank, entry.last_visit.isoformat() if entry.last_visit else "", entry.household_id


def worklist(entries: Iterable[tuple[str, str, Sequence[str], date | None]],
             today: date) -> list[WorklistEntry]:
    """(household id, village, categories, last visit) → the ordered worklist."""
    ordered = [
        WorklistEntry(household_id, village, tuple(categories), last_visit,
                      priority_of(categories, last_visit, today))
        for household_id, village, categories, last_visit in entries
    ]
    return sorted(ordered, key=worklist_key)


def page_after(entries: Sequence[WorklistEntry], after: WorklistKey | None,
               limit: int) -> list[WorklistEntry]:
    """The `limit` entries that follow the cursor key `after` in an ordered worklist."""
    if after is not None:
        entries = [entry for entry in entries if worklist_key(entry) > after]
    return list(entries[:limit])


def check_villages(codes: Iterable[str], table: DivisionTable, covers: Callable[[str], bool],
                   day: date) -> tuple[str, ...]:
    """The assigned villages, deduplicated and sorted, or FieldError naming the first bad one."""
    checked: set[str] = set()
    for position, code in enumerate(codes):
        field = f"villages[{position}]"
        check_code(code, field)
        if level_of(code) is not DivisionLevel.VILLAGE:
            raise FieldError(field, f"{code} is not a village-level code.", f"{code}不是村级区划代码。")
        table.require(code, day, field)
        if not covers(code):
            raise FieldError(field, f"Village {code} is outside your region.", f"村{code}不在您的辖区内。")
        checked.add(code)
    if len(checked) > MAX_VILLAGES:
        raise FieldError("villages", f"At most {MAX_VILLAGES} villages.", f"最多分配{MAX_VILLAGES}个村。")
    return tuple(sorted(checked))


def check_visit(visited_on: date, today: date) -> None:
    if visited_on > today:
        raise FieldError("visited_on", "The visit date is in the future.", "走访日期不能晚于今天。")
