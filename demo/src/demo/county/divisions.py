"""The county's townships and villages, read from the registry's bundled division table (a data file).

The demo never imports the registry's code; it reads the same CSV the registry ships, so a household is
placed only where the registry accepts it. Where a township has no village rows (the bundled table has
few verified villages), households are registered at the township's own code, which the registry accepts.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
DEFAULT_TABLE = REPO_ROOT / "services" / "registry" / "src" / "registry" / "data" / "divisions.csv"


@dataclass(frozen=True)
class Township:
    code: str
    name: str
    urban: bool  # 街道 (sub-district): mostly urban hukou; 镇/乡: mostly rural
    villages: tuple[str, ...] = field(default=())

    @property
    def places(self) -> tuple[str, ...]:
        """Codes a household of this township can be registered at."""
        return self.villages or (self.code,)


def county_townships(county: str, table: Path = DEFAULT_TABLE, on: date | None = None) -> list[Township]:
    """Townships of a 6-digit county code in force on `on` (default today), with their villages."""
    on = on or date.today()
    rows = _rows_in_force(table, on)
    townships = [r for r in rows if r["level"] == "township" and r["code"].startswith(county)]
    if not townships:
        raise ValueError(f"no townships of county {county} in {table}")
    return [
        Township(
            code=t["code"],
            name=t["name"],
            urban=t["name"].endswith("街道"),
            villages=tuple(r["code"] for r in rows if r["level"] == "village" and r["parent_code"] == t["code"]),
        )
        for t in sorted(townships, key=lambda r: r["code"])
    ]


def _rows_in_force(table: Path, on: date) -> list[dict[str, str]]:
    with table.open(encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    return [
        r
        for r in rows
        if date.fromisoformat(r["valid_from"]) <= on and (not r["valid_to"] or on < date.fromisoformat(r["valid_to"]))
    ]
