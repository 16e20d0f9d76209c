"""Writing a synthetic county: the registry's import CSV (Chinese headers), events JSONL, a summary.

By default the life events travel in the import file itself, in the registry's life-event columns
(死亡日期, 残疾等级 + 残疾评定日期, 光荣证号 + 发证日期, 低保类别 + 低保起始日期), so a million-person county
needs no per-event API calls; `events.jsonl` then stays empty. With `events_in_file=False` they are
written to `events.jsonl` instead, for the loader to record through the API one by one.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from demo.county.families import HouseholdRow

HEADERS = (
    "户编号",
    "区划代码",
    "户口性质",
    "现居住地区划代码",
    "姓名",
    "公民身份号码",
    "性别",
    "出生日期",
    "与户主关系",
    "手机号码",
    "银行卡号",
    "母亲身份号码",
    "父亲身份号码",
)
EVENT_HEADERS = ("死亡日期", "残疾等级", "残疾评定日期", "光荣证号", "发证日期", "低保类别", "低保起始日期")
LOW_INCOME_ZH = {"dibao": "低保", "tekun": "特困"}


@dataclass
class CountySummary:
    households: int = 0
    persons: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_township: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    migrants: int = 0
    low_income: int = 0
    files: list[str] = field(default_factory=list)

    def add(self, household: HouseholdRow) -> None:
        self.households += 1
        self.persons += len(household.members)
        self.by_kind[household.kind] += 1
        self.by_township[household.township] += len(household.members)
        self.events.update(e.kind for e in household.events)
        self.migrants += household.residence_division_code is not None
        self.low_income += household.low_income

    def as_dict(self) -> dict[str, object]:
        return {
            "households": self.households,
            "persons": self.persons,
            "by_kind": dict(self.by_kind),
            "persons_by_township": dict(self.by_township),
            "events": dict(self.events),
            "migrant_households": self.migrants,
            "low_income_households": self.low_income,
            "files": self.files,
        }


def csv_rows(household: HouseholdRow, events_in_file: bool = False) -> Iterable[list[str]]:
    for p in household.members:
        cells = [
            household.ref,
            household.division_code,
            household.hukou_type,
            household.residence_division_code or "",
            p.name,
            p.id_number,
            p.sex,
            p.birth_date.isoformat(),
            p.relation,
            p.phone or "",
            p.bank_card or "",
            p.mother_id_number or "",
            p.father_id_number or "",
        ]
        yield cells + _event_cells(household, p.id_number) if events_in_file else cells


def _event_cells(household: HouseholdRow, id_number: str) -> list[str]:
    cells = dict.fromkeys(EVENT_HEADERS, "")
    for e in household.events:
        if e.id_number != id_number:
            continue
        day = e.effective_date.isoformat()
        if e.kind == "death":
            cells["死亡日期"] = day
        elif e.kind == "disability_assessed":
            cells["残疾等级"], cells["残疾评定日期"] = str(e.payload["grade"]), day
        elif e.kind == "certificate_issued":
            cells["光荣证号"], cells["发证日期"] = str(e.payload["certificate_number"]), day
        elif e.kind == "low_income_changed":
            cells["低保类别"], cells["低保起始日期"] = LOW_INCOME_ZH[str(e.payload["low_income_kind"])], day
    return list(cells.values())


def event_lines(household: HouseholdRow) -> Iterable[str]:
    for e in household.events:
        yield json.dumps(
            {
                "household_ref": household.ref,
                "division_code": household.division_code,
                "id_number": e.id_number,
                "kind": e.kind,
                "effective_date": e.effective_date.isoformat(),
                **e.payload,
            },
            ensure_ascii=False,
        )


def write_county(households: Iterable[HouseholdRow], out: Path, persons_per_file: int = 200_000,
                 events_in_file: bool = True) -> CountySummary:
    """Write households to `out/persons-NNN.csv` (a household never spans two files), `out/events.jsonl`
    and `out/summary.json`."""
    out.mkdir(parents=True, exist_ok=True)
    summary = CountySummary()
    events = (out / "events.jsonl").open("w", encoding="utf-8")
    part, in_part, handle, writer = 0, 0, None, None
    try:
        for household in households:
            if writer is None or in_part >= persons_per_file:
                if handle:
                    handle.close()
                part += 1
                in_part = 0
                name = f"persons-{part:03d}.csv"
                summary.files.append(name)
                handle = (out / name).open("w", encoding="utf-8", newline="")
                writer = csv.writer(handle)
                writer.writerow(HEADERS + EVENT_HEADERS if events_in_file else HEADERS)
            writer.writerows(csv_rows(household, events_in_file))
            in_part += len(household.members)
            if not events_in_file:
                for line in event_lines(household):
                    events.write(line + "\n")
            summary.add(household)
    finally:
        events.close()
        if handle:
            handle.close()
    (out / "summary.json").write_text(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    return summary
