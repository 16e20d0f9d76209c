"""Statistics of a region for a year, and the small-cell rule that makes them publishable.

Pure: counts in, publishable cells out. The service layer does the counting.

Household categories
  The keys of the household facts (see `registry.domain.facts`) that the programmes count, in the
  order reports list them. A household is in a category when its fact is true.

Reference day
  Ages are taken on 31 December of the year asked about, or on today for the current year (the end of
  the year has not happened yet). A future year cannot be asked about.

Age bands
  0–2, 3–5, 6–17, 18–59, 60+ in completed years on the reference day. A band is a window of birth
  dates, so a database can count it with an index: a person is at least `n` years old on a day when
  born on or before the same day `n` years earlier (29 February going back to a common year becomes
  28 February: whoever was born on that 28 February has had the birthday; someone born on 29 February
  reaches a birthday on 1 March in common years, as `Person.age_on` says).

Small cells (statistical disclosure control)
  Every count under `SUPPRESSION_THRESHOLD` (5) is published as null with `suppressed` set; 0 too,
  since "no bereaved family in this village" says something about every family there. A cell that
  could be worked out from the others is suppressed as well (secondary suppression): when any part of
  an additive group (the age bands, boys and girls) is suppressed, so is the group's total. The birth
  sex ratio (boys per 100 girls) is suppressed whenever either count is.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from registry.domain.errors import FieldError

SUPPRESSION_THRESHOLD = 5
EARLIEST_YEAR = 1900

HOUSEHOLD_CATEGORIES: tuple[str, ...] = (
    "only_child",  # 独生子女户
    "single_daughter",  # 独女户
    "two_daughters",  # 二女户
    "bereaved",  # 失独家庭
    "disabled_only_child",  # 伤残家庭
    "migrant",  # 流动人口
    "low_income",  # 计生困难家庭（低保/特困）
    "certificate_held",  # 领证（独生子女父母光荣证）
)


def categories_of(facts: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The categories a household's stored facts put it in, in report order (none without facts)."""
    if not facts:
        return ()
    return tuple(category for category in HOUSEHOLD_CATEGORIES if facts.get(category) is True)


@dataclass(frozen=True)
class AgeBand:
    label: str
    min_age: int
    max_age: int | None  # None: no upper bound


AGE_BANDS: tuple[AgeBand, ...] = (
    AgeBand("0-2", 0, 2),
    AgeBand("3-5", 3, 5),
    AgeBand("6-17", 6, 17),
    AgeBand("18-59", 18, 59),
    AgeBand("60+", 60, None),
)


def reference_day(year: int, today: date) -> date:
    """31 December of `year`, or `today` for the current year; FieldError for a future or absurd year."""
    if year > today.year:
        raise FieldError("year", "Statistics cannot be asked for a future year.", "不能查询未来年份的统计。")
    if year < EARLIEST_YEAR:
        raise FieldError("year", f"The year must be {EARLIEST_YEAR} or later.",
                         f"年份不能早于{EARLIEST_YEAR}年。")
    return today if year == today.year else date(year, 12, 31)


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier; 29 February becomes 28 February in a common year."""
    target = day.year - years
    if day.month == 2 and day.day == 29 and not calendar.isleap(target):
        return date(target, 2, 28)
    return day.replace(year=target)


@dataclass(frozen=True)
class BirthWindow:
    """Born after `born_after` (exclusive; None: no lower bound) and on or before `born_by`."""

    born_after: date | None
    born_by: date

    def holds(self, birth_date: date) -> bool:
        return birth_date <= self.born_by and (self.born_after is None or birth_date > self.born_after)


def birth_window(band: AgeBand, on: date) -> BirthWindow:
    """The birth dates of the people whose age on `on` lies in `band`."""
    born_by = years_before(on, band.min_age)
    born_after = None if band.max_age is None else years_before(on, band.max_age + 1)
    return BirthWindow(born_after, born_by)


def age_band_of(birth_date: date, on: date) -> AgeBand | None:
    """The band of a person born on `birth_date`, on `on` (None if not born yet)."""
    return next((band for band in AGE_BANDS if birth_window(band, on).holds(birth_date)), None)


def year_births(year: int, on: date) -> tuple[date, date]:
    """First and last day of the births counted for `year` (up to the reference day)."""
    return date(year, 1, 1), min(on, date(year, 12, 31))


@dataclass(frozen=True)
class Cell:
    """One published count: `value` is None when `suppressed`."""

    value: int | None
    suppressed: bool


@dataclass(frozen=True)
class RatioCell:
    value: float | None
    suppressed: bool


def cell(count: int) -> Cell:
    """A count as published: under the threshold it is suppressed."""
    if count < 0:
        raise ValueError("A count cannot be negative.")
    if count < SUPPRESSION_THRESHOLD:
        return Cell(None, True)
    return Cell(count, False)


def additive_group(parts: Mapping[str, int], total: int) -> tuple[dict[str, Cell], Cell]:
    """Cells of parts that add up to `total`, and the total's cell.

    The total is suppressed too when any part is, so no suppressed part can be recovered by subtraction.
    """
    if sum(parts.values()) != total:
        raise ValueError("The parts do not add up to the total.")
    cells = {key: cell(count) for key, count in parts.items()}
    total_cell = cell(total)
    if any(c.suppressed for c in cells.values()):
        total_cell = Cell(None, True)
    return cells, total_cell


def sex_ratio(boys: Cell, girls: Cell) -> RatioCell:
    """Boys per 100 girls, one decimal; suppressed when either count is (a suppressed 0 girls included)."""
    if boys.suppressed or girls.suppressed or boys.value is None or not girls.value:
        return RatioCell(None, True)
    return RatioCell(round(boys.value * 100 / girls.value, 1), False)
