"""Worklist order, village assignment checks and visit dates (registry.domain.outreach)."""

from datetime import date

import pytest
from registry.domain.divisions import Division, DivisionLevel, DivisionTable
from registry.domain.errors import FieldError
from registry.domain.outreach import (
    Priority,
    check_villages,
    check_visit,
    page_after,
    priority_of,
    worklist,
    worklist_key,
)

TODAY = date(2025, 3, 10)


@pytest.mark.parametrize(
    ("categories", "last_visit", "expected"),
    [
        (("bereaved",), None, Priority.CARE),
        (("disabled_only_child", "only_child"), date(2025, 1, 2), Priority.CARE),  # visited, still first
        (("only_child", "certificate_held"), None, Priority.NOT_VISITED_THIS_YEAR),
        ((), date(2024, 12, 31), Priority.NOT_VISITED_THIS_YEAR),  # last year is not this year
        ((), date(2025, 1, 1), Priority.VISITED_THIS_YEAR),
        (("two_daughters", "low_income"), TODAY, Priority.VISITED_THIS_YEAR),
    ],
)
def test_priority(categories: tuple[str, ...], last_visit: date | None, expected: Priority) -> None:
    assert priority_of(categories, last_visit, TODAY) is expected


def test_worklist_order_care_first_then_unvisited_then_the_rest() -> None:
    rows = [
        ("h-visited", "v1", ("only_child",), date(2025, 2, 1)),
        ("h-visited-earlier", "v1", (), date(2025, 1, 5)),
        ("h-last-year", "v1", (), date(2024, 6, 1)),
        ("h-never", "v2", ("two_daughters",), None),
        ("h-bereaved-seen", "v1", ("bereaved",), date(2025, 3, 1)),
        ("h-disabled-never", "v2", ("disabled_only_child", "only_child"), None),
        ("h-bereaved-long-ago", "v1", ("bereaved",), date(2023, 1, 1)),
    ]
    ordered = [entry.household_id for entry in worklist(rows, TODAY)]
    assert ordered == [
        "h-disabled-never", "h-bereaved-long-ago", "h-bereaved-seen",  # care: never, then longest ago
        "h-never", "h-last-year",  # not visited this year
        "h-visited-earlier", "h-visited",  # the rest, longest ago first
    ]


def test_ties_break_on_household_id_so_pages_never_overlap() -> None:
    rows = [(f"h{n}", "v", (), None) for n in (3, 1, 2)]
    assert [e.household_id for e in worklist(rows, TODAY)] == ["h1", "h2", "h3"]


def test_paging_by_key_walks_the_whole_list_once() -> None:
    rows = [(f"h{n:02d}", "v", ("bereaved",) if n % 4 == 0 else (), date(2025, 1, n) if n % 3 else None)
            for n in range(1, 21)]
    ordered = worklist(rows, TODAY)
    seen, after = [], None
    while True:
        page = page_after(ordered, after, 6)
        seen += page
        if len(page) < 6:
            break
        after = worklist_key(page[-1])
    assert seen == ordered


def _table() -> DivisionTable:
    return DivisionTable([
        Division("360702000000", "章贡区", DivisionLevel.COUNTY, None, date(1998, 12, 1)),
        Division("360702100000", "沙石镇", DivisionLevel.TOWNSHIP, "360702000000", date(1998, 12, 1)),
        Division("360702100201", "一村", DivisionLevel.VILLAGE, "360702100000", date(1998, 12, 1)),
        Division("360702100202", "二村", DivisionLevel.VILLAGE, "360702100000", date(1998, 12, 1)),
        Division("360702100203", "三村", DivisionLevel.VILLAGE, "360702100000", date(1998, 12, 1),
                 date(2020, 1, 1)),
        Division("360703100201", "外县村", DivisionLevel.VILLAGE, "360703100000", date(1998, 12, 1)),
    ])


def _in_county(code: str) -> bool:
    return code.startswith("360702")


def test_villages_are_checked_deduplicated_and_sorted() -> None:
    assert check_villages(["360702100202", "360702100201", "360702100202"], _table(), _in_county,
                          TODAY) == ("360702100201", "360702100202")
    assert check_villages([], _table(), _in_county, TODAY) == ()


@pytest.mark.parametrize(
    ("codes", "field", "words"),
    [
        (["3607021002"], "villages[0]", "12 digits"),
        (["360702100201", "360702100000"], "villages[1]", "not a village"),
        (["360702100299"], "villages[0]", "not in the code table"),
        (["360702100203"], "villages[0]", "retired"),
        (["360703100201"], "villages[0]", "outside your region"),
    ],
)
def test_bad_villages_name_the_entry(codes: list[str], field: str, words: str) -> None:
    with pytest.raises(FieldError) as caught:
        check_villages(codes, _table(), _in_county, TODAY)
    assert caught.value.field == field and words in caught.value.message


def test_a_visit_may_be_today_but_not_tomorrow() -> None:
    check_visit(TODAY, TODAY)
    with pytest.raises(FieldError) as caught:
        check_visit(date(2025, 3, 11), TODAY)
    assert caught.value.field == "visited_on"
