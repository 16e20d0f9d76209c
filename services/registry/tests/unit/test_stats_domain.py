"""Age bands, reference days and small-cell suppression (registry.domain.stats)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from registry.domain.errors import FieldError
from registry.domain.model import Person, Sex
from registry.domain.stats import (
    AGE_BANDS,
    Cell,
    additive_group,
    age_band_of,
    categories_of,
    cell,
    reference_day,
    sex_ratio,
    years_before,
)


@pytest.mark.parametrize(("count", "expected"), [
    (0, Cell(None, True)), (1, Cell(None, True)), (4, Cell(None, True)),
    (5, Cell(5, False)), (120, Cell(120, False)),
])
def test_cells_under_five_are_suppressed_zero_included(count: int, expected: Cell) -> None:
    assert cell(count) == expected


def test_a_suppressed_part_suppresses_the_total_too() -> None:
    parts, total = additive_group({"a": 3, "b": 10, "c": 7}, 20)
    assert parts == {"a": Cell(None, True), "b": Cell(10, False), "c": Cell(7, False)}
    assert total == Cell(None, True)  # else a = 20 - 10 - 7
    parts, total = additive_group({"a": 5, "b": 10}, 15)
    assert total == Cell(15, False) and not any(c.suppressed for c in parts.values())
    with pytest.raises(ValueError):
        additive_group({"a": 5}, 6)


@pytest.mark.parametrize(("boys", "girls", "ratio"), [
    (106, 100, 106.0), (53, 50, 106.0), (110, 97, 113.4), (5, 5, 100.0),
    (4, 100, None), (100, 4, None), (100, 0, None), (0, 0, None),
])
def test_sex_ratio_is_suppressed_with_either_count(boys: int, girls: int, ratio: float | None) -> None:
    result = sex_ratio(cell(boys), cell(girls))
    assert result.value == ratio and result.suppressed is (ratio is None)


def test_reference_day_is_year_end_or_today() -> None:
    today = date(2025, 6, 15)
    assert reference_day(2024, today) == date(2024, 12, 31)
    assert reference_day(2025, today) == today
    for bad in (2026, 1899):
        with pytest.raises(FieldError) as caught:
            reference_day(bad, today)
        assert caught.value.field == "year"


def test_years_before_on_29_february() -> None:
    assert years_before(date(2024, 2, 29), 1) == date(2023, 2, 28)
    assert years_before(date(2024, 2, 29), 4) == date(2020, 2, 29)
    assert years_before(date(2025, 3, 1), 3) == date(2022, 3, 1)


@pytest.mark.parametrize(("born", "on", "band"), [
    (date(2025, 6, 15), date(2025, 6, 15), "0-2"),  # born today
    (date(2022, 6, 16), date(2025, 6, 15), "0-2"),  # turns 3 tomorrow
    (date(2022, 6, 15), date(2025, 6, 15), "3-5"),  # turns 3 today
    (date(2007, 6, 16), date(2025, 6, 15), "6-17"),
    (date(2007, 6, 15), date(2025, 6, 15), "18-59"),
    (date(1965, 6, 15), date(2025, 6, 15), "60+"),
    (date(1965, 6, 16), date(2025, 6, 15), "18-59"),
    (date(2020, 2, 29), date(2023, 2, 28), "0-2"),  # a 29 February birthday comes on 1 March
    (date(2020, 2, 29), date(2023, 3, 1), "3-5"),
])
def test_age_band_edges(born: date, on: date, band: str) -> None:
    assert age_band_of(born, on).label == band


def test_not_born_yet_has_no_band() -> None:
    assert age_band_of(date(2025, 6, 16), date(2025, 6, 15)) is None


@given(born=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
       days=st.integers(min_value=0, max_value=50_000))
def test_bands_agree_with_person_age_on(born: date, days: int) -> None:
    on = born + timedelta(days=days)
    age = Person("p", Sex.FEMALE, born).age_on(on)
    band = age_band_of(born, on)
    assert band.min_age <= age and (band.max_age is None or age <= band.max_age)
    assert sum(b.label == band.label for b in AGE_BANDS) == 1


def test_categories_read_from_stored_facts() -> None:
    facts = {"only_child": True, "single_daughter": True, "two_daughters": False, "bereaved": False,
             "disabled_only_child": False, "migrant": True, "low_income": False, "certificate_held": True,
             "living_children": 1}
    assert categories_of(facts) == ("only_child", "single_daughter", "migrant", "certificate_held")
    assert categories_of(None) == () and categories_of({}) == ()
