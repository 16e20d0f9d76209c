"""Phone numbers are refused, never rewritten, when written with anything but digits, +, spaces, dashes."""

import pytest

from notifications.domain.phones import valid_mobile, well_formed


@pytest.mark.parametrize(
    "written", ["13912341234", "+86 139 1234 1234", "+86-139-1234-1234", "0086 13912341234", "+86 (139) 1234-1234"]
)
def test_numbers_written_with_digits_spaces_and_dashes_are_read(written: str) -> None:
    assert valid_mobile(written) == "+8613912341234"


@pytest.mark.parametrize(
    "written",
    [
        "139abcd1234",  # phonenumbers reads letters as keypad digits: +8613922231234
        "+86139ABCD1234",
        "１３９１２３４１２３４",  # full-width digits
        "139.1234.1234",
        "139/1234/1234",
        "+86 139 1234 1234\n",
        "13912341234 ext. 5",
        "tel:+8613912341234",
    ],
)
def test_anything_else_is_refused_not_rewritten(written: str) -> None:
    assert not well_formed(written)
    assert valid_mobile(written) is None
