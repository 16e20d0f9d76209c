"""Resident ID numbers: validation, what they say, agreement with a given birth date and sex."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry.domain.errors import FieldError
from registry.domain.identity import (
    ID_FIELD,
    birth_date_from_id,
    check_id_agrees,
    mask_id_number,
    parse_resident_id,
    sex_from_id,
)
from registry.domain.model import Sex

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def with_check(first17: str) -> str:
    """Append the ISO 7064 MOD 11-2 check character, computed here independently of the code under test."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def flip_check(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


GOOD = [
    # (number as typed, normalised, birth date, sex)
    ("11010519491231002X", "11010519491231002X", date(1949, 12, 31), Sex.FEMALE),  # GB 11643 example
    ("11010519491231002x", "11010519491231002X", date(1949, 12, 31), Sex.FEMALE),  # lower-case x
    (" 360426 19910101 0071 ", "360426199101010071", date(1991, 1, 1), Sex.MALE),  # spaces
    (with_check("36070219850101123"), with_check("36070219850101123"), date(1985, 1, 1), Sex.MALE),
    (with_check("36070220000229002"), with_check("36070220000229002"), date(2000, 2, 29), Sex.FEMALE),
    # retired county code (county-level 赣州市 until 1998) stays valid
    (with_check("36210119750601001"), with_check("36210119750601001"), date(1975, 6, 1), Sex.MALE),
    # region code newer than the birth year: issued after 1998 to someone born in 1985
    (with_check("36070419850315004"), with_check("36070419850315004"), date(1985, 3, 15), Sex.FEMALE),
]


@pytest.mark.parametrize(("typed", "normalised", "birth_date", "sex"), GOOD)
def test_good_ids_are_read(typed: str, normalised: str, birth_date: date, sex: Sex) -> None:
    resident_id = parse_resident_id(typed)
    assert resident_id.number == normalised
    assert resident_id.region_code == normalised[:6]
    assert resident_id.birth_date == birth_date == birth_date_from_id(typed)
    assert resident_id.sex is sex is sex_from_id(typed)


BAD = [
    ("bad check digit", flip_check(with_check("36070219850101123")), "check character"),
    ("bad check X", with_check("36070219850101123")[:-1] + "X", "check character"),
    ("30 February", with_check("36070219990230123"), "not a real date"),
    ("month 13", with_check("36070219991301123"), "not a real date"),
    ("unknown region", with_check("99999919850101123"), "region code"),
    ("unknown county in a known province", with_check("36999919850101123"), "region code"),
    ("17 characters", "36070219850101123", "18 characters"),
    ("old 15-digit number", "360702850101123", "18 characters"),
    ("letter inside", "3607021985O101123X", "17 digits"),
    ("X not last", "36070219850101X234", "17 digits"),
    ("full-width digits", "３６０７０２１９８５０１０１１２３４", "17 digits"),
    ("empty", "", "18 characters"),
]


@pytest.mark.parametrize(("case", "number", "says"), BAD, ids=[case for case, _, _ in BAD])
def test_bad_ids_are_refused_naming_the_field(case: str, number: str, says: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_resident_id(number)
    assert caught.value.field == ID_FIELD
    assert says in caught.value.message
    assert "公民身份号码" in caught.value.message_zh


def test_a_birth_date_after_today_is_refused_when_today_is_given() -> None:
    number = with_check("36070220300101123")
    assert parse_resident_id(number).birth_date == date(2030, 1, 1)
    with pytest.raises(FieldError, match="future"):
        parse_resident_id(number, today=date(2025, 1, 1))


AGREEMENT = [
    # (birth date given, sex given, field refused or None)
    (date(1985, 1, 1), Sex.MALE, None),
    (None, None, None),
    (date(1985, 1, 2), Sex.MALE, "birth_date"),
    (date(1985, 1, 1), Sex.FEMALE, "sex"),
    (None, Sex.FEMALE, "sex"),
    (date(1958, 1, 1), None, "birth_date"),
]


@pytest.mark.parametrize(("birth_date", "sex", "refused"), AGREEMENT)
def test_given_birth_date_and_sex_must_agree_with_the_number(
    birth_date: date | None, sex: Sex | None, refused: str | None
) -> None:
    number = with_check("36070219850101123")  # male, 1985-01-01
    if refused is None:
        assert check_id_agrees(number, birth_date=birth_date, sex=sex).number == number
    else:
        with pytest.raises(FieldError) as caught:
            check_id_agrees(number, birth_date=birth_date, sex=sex)
        assert caught.value.field == refused
        assert "身份号码不符" in caught.value.message_zh


REGIONS = ["360702", "360704", "362101", "110101", "360426"]


@settings(deadline=None)  # the first call loads python-stdnum's region table
@given(
    region=st.sampled_from(REGIONS),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
)
def test_any_well_formed_number_round_trips_birth_date_and_sex(
    region: str, birth: date, sequence: int
) -> None:
    number = with_check(f"{region}{birth:%Y%m%d}{sequence:03d}")
    resident_id = parse_resident_id(number.lower())
    assert resident_id.number == number
    assert resident_id.birth_date == birth
    assert resident_id.sex is (Sex.MALE if sequence % 2 else Sex.FEMALE)
    assert check_id_agrees(number, birth_date=birth, sex=resident_id.sex) == resident_id
    masked = mask_id_number(number)
    assert masked == number[:6] + "********" + number[-4:]


@settings(deadline=None)  # the first call loads python-stdnum's region table
@given(
    birth=st.dates(min_value=date(1950, 1, 1), max_value=date(2024, 12, 31)),
    position=st.integers(min_value=0, max_value=16),
    shift=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_typo_is_caught(birth: date, position: int, shift: int) -> None:
    number = with_check(f"360702{birth:%Y%m%d}123")
    typo = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    with pytest.raises(FieldError):
        parse_resident_id(typo)
