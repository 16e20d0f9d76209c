"""Statistical division codes (统计用区划代码) and the dated code table.

A division code has 12 digits: 2 province, 2 prefecture, 2 county (together the 6-digit GB/T 2260
county code), 3 township (街道/镇/乡), 3 village (居委会/村委会). A code's level is read from its
trailing zeros: 360000000000 province, 360700000000 prefecture, 360702000000 county,
360702001000 township, 360702001001 village.

Jurisdiction is a prefix: a region of 2, 4, 6, 9 or 12 digits covers every code that starts with it.

The table is dated. Each row is in force from `valid_from` up to, not including, `valid_to` (empty:
still in force). A code is retired when its last row has ended; a code that is renamed keeps its
number and gets a new row. Parsing the bundled CSV is here; reading the file is not (see
`registry.data`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from registry.domain.errors import FieldError

CODE_LENGTH = 12
DIVISION_FIELD = "division_code"


class DivisionLevel(StrEnum):
    PROVINCE = "province"
    PREFECTURE = "prefecture"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def prefix_length(self) -> int:
        return _PREFIX_LENGTHS[self]


_PREFIX_LENGTHS = {
    DivisionLevel.PROVINCE: 2,
    DivisionLevel.PREFECTURE: 4,
    DivisionLevel.COUNTY: 6,
    DivisionLevel.TOWNSHIP: 9,
    DivisionLevel.VILLAGE: 12,
}
_LEVEL_BY_PREFIX_LENGTH = {length: level for level, length in _PREFIX_LENGTHS.items()}


class DivisionStatus(StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"  # not in the table at all
    RETIRED = "retired"  # in the table, but its last row ended on or before the day
    NOT_YET = "not_yet"  # in the table, but first in force after the day


def check_code(code: str, field: str = DIVISION_FIELD) -> str:
    """The code if it is 12 ASCII digits with a province part, else FieldError."""
    if len(code) != CODE_LENGTH or not code.isascii() or not code.isdigit() or code[:2] == "00":
        raise FieldError(field, "A division code has 12 digits.", "区划代码应为12位数字。")
    return code


def level_of(code: str) -> DivisionLevel:
    """The level of a 12-digit code, from its trailing zeros."""
    check_code(code)
    for level in (
        DivisionLevel.PROVINCE,
        DivisionLevel.PREFECTURE,
        DivisionLevel.COUNTY,
        DivisionLevel.TOWNSHIP,
    ):
        if set(code[level.prefix_length :]) == {"0"}:
            return level
    return DivisionLevel.VILLAGE


def region_prefix(code: str) -> str:
    """The significant digits of a code: 360702000000 -> 360702, 360702001000 -> 360702001."""
    return code[: level_of(code).prefix_length]


def code_of_prefix(prefix: str) -> str:
    """The 12-digit code of a 2/4/6/9/12-digit region prefix: 3607 -> 360700000000."""
    check_prefix(prefix)
    return prefix.ljust(CODE_LENGTH, "0")


def structural_parent(code: str) -> str | None:
    """The code one level up, read from the digits alone (None for a province)."""
    level = level_of(code)
    if level is DivisionLevel.PROVINCE:
        return None
    levels = list(DivisionLevel)
    parent_level = levels[levels.index(level) - 1]
    return code_of_prefix(code[: parent_level.prefix_length])


def check_prefix(prefix: str, field: str = "region") -> str:
    """A jurisdiction prefix: 2, 4, 6, 9 or 12 ASCII digits."""
    if len(prefix) not in _LEVEL_BY_PREFIX_LENGTH or not prefix.isascii() or not prefix.isdigit():
        raise FieldError(
            field,
            "A region is a division code prefix of 2, 4, 6, 9 or 12 digits.",
            "管辖区域应为2、4、6、9或12位区划代码前缀。",
        )
    return prefix


def within(code: str, prefix: str) -> bool:
    """Whether the division `code` lies inside the jurisdiction `prefix`.

    A 12-digit prefix that is itself a higher-level code (360702000000) is read as its significant
    digits (360702), so a county's own code covers its townships and villages.
    """
    check_code(code)
    check_prefix(prefix)
    if len(prefix) == CODE_LENGTH:
        prefix = region_prefix(prefix)
    return code.startswith(prefix)


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: DivisionLevel
    parent_code: str | None
    valid_from: date
    valid_to: date | None = None

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


class DivisionTable:
    """The dated code table: which codes exist, and which are in force on a given day."""

    def __init__(self, divisions: Iterable[Division]) -> None:
        rows: dict[str, list[Division]] = {}
        for division in divisions:
            rows.setdefault(division.code, []).append(division)
        self._rows = {code: tuple(sorted(found, key=lambda d: d.valid_from)) for code, found in rows.items()}

    def __contains__(self, code: object) -> bool:
        return code in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def history(self, code: str) -> tuple[Division, ...]:
        """Every row of a code, oldest first (several when it was renamed); empty when unknown."""
        return self._rows.get(code, ())

    def on(self, code: str, day: date) -> Division | None:
        """The row of `code` in force on `day`, if any."""
        return next((row for row in self.history(code) if row.in_force_on(day)), None)

    def status(self, code: str, day: date) -> DivisionStatus:
        rows = self.history(code)
        if not rows:
            return DivisionStatus.UNKNOWN
        if any(row.in_force_on(day) for row in rows):
            return DivisionStatus.VALID
        if day < rows[0].valid_from:
            return DivisionStatus.NOT_YET
        return DivisionStatus.RETIRED

    def is_valid_on(self, code: str, day: date) -> bool:
        return self.status(code, day) is DivisionStatus.VALID

    def require(self, code: str, day: date, field: str = DIVISION_FIELD) -> Division:
        """The row in force on `day`, or FieldError saying why the code cannot be used."""
        check_code(code, field)
        status = self.status(code, day)
        if status is DivisionStatus.VALID:
            return self.on(code, day)  # type: ignore[return-value]
        if status is DivisionStatus.RETIRED:
            ended = self.history(code)[-1].valid_to
            raise FieldError(
                field,
                f"Division code {code} was retired on {ended}.",
                f"区划代码{code}已于{ended}撤销。",
            )
        if status is DivisionStatus.NOT_YET:
            raise FieldError(
                field,
                f"Division code {code} is not in force yet on {day}.",
                f"区划代码{code}在{day}尚未启用。",
            )
        raise FieldError(
            field, f"Division code {code} is not in the code table.", f"区划代码{code}不在区划代码表中。"
        )

    def children(self, code: str, day: date) -> tuple[Division, ...]:
        """Divisions in force on `day` whose parent is `code`, by code."""
        found = (self.on(child, day) for child, rows in self._rows.items() if rows[-1].parent_code == code)
        return tuple(sorted((row for row in found if row is not None), key=lambda row: row.code))

    def retired(self, day: date) -> tuple[Division, ...]:
        """The last row of every code retired on or before `day`, by code."""
        return tuple(
            rows[-1]
            for code, rows in sorted(self._rows.items())
            if self.status(code, day) is DivisionStatus.RETIRED
        )


_COLUMNS = ["code", "name", "level", "parent_code", "valid_from", "valid_to"]


def parse_division_csv(text: str) -> DivisionTable:
    """Build the table from CSV text with the columns above; lines starting with # are comments.

    Every row is checked: a 12-digit code whose level matches its digits, a parent one level up that
    is in the table too, and valid_to after valid_from.
    """
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), 1)
        if not line.lstrip().startswith("#")
    ]
    reader = csv.reader(io.StringIO("\n".join(line for _, line in lines)))
    header = next(reader, None)
    if header != _COLUMNS:
        raise FieldError(
            "divisions", f"The columns must be {','.join(_COLUMNS)}.", f"列应为{','.join(_COLUMNS)}。"
        )
    divisions = [
        _parse_row(row, line_number) for (line_number, _), row in zip(lines[1:], reader, strict=True)
    ]
    codes = {division.code for division in divisions}
    for (line_number, _), division in zip(lines[1:], divisions, strict=True):
        if division.parent_code is not None and division.parent_code not in codes:
            raise FieldError(
                f"line {line_number}: parent_code",
                f"Parent {division.parent_code} is not in the table.",
                f"上级区划{division.parent_code}不在表中。",
            )
    return DivisionTable(divisions)


def _parse_row(row: list[str], line_number: int) -> Division:
    where = f"line {line_number}"
    if len(row) != len(_COLUMNS):
        raise FieldError(where, f"Expected {len(_COLUMNS)} columns.", f"应有{len(_COLUMNS)}列。")
    code, name, level_text, parent, valid_from, valid_to = (cell.strip() for cell in row)
    check_code(code, f"{where}: code")
    try:
        level = DivisionLevel(level_text)
    except ValueError:
        raise FieldError(
            f"{where}: level", f"Unknown level {level_text!r}.", f"未知层级“{level_text}”。"
        ) from None
    if level is not level_of(code):
        raise FieldError(
            f"{where}: level",
            f"Code {code} is a {level_of(code)} code, not {level}.",
            f"代码{code}的层级与“{level}”不符。",
        )
    expected_parent = structural_parent(code)
    if (parent or None) != expected_parent:
        raise FieldError(
            f"{where}: parent_code",
            f"The parent of {code} is {expected_parent}.",
            f"{code}的上级应为{expected_parent}。",
        )
    start = _parse_date(valid_from, f"{where}: valid_from")
    end = _parse_date(valid_to, f"{where}: valid_to") if valid_to else None
    if end is not None and end <= start:
        raise FieldError(
            f"{where}: valid_to", "valid_to must be after valid_from.", "终止日期须晚于起始日期。"
        )
    return Division(code, name, level, parent or None, start, end)


def _parse_date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldError(field, f"Not a date: {text!r}.", f"日期无效：“{text}”。") from None
