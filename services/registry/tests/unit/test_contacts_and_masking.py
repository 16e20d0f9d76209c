"""Mobile phones, bank cards and masking."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry.domain.errors import FieldError
from registry.domain.identity import (
    BANK_CARD_FIELD,
    PHONE_FIELD,
    mask_id_number,
    mask_name,
    mask_phone,
    normalise_bank_card,
    normalise_mobile,
)


def luhn_complete(body: str) -> str:
    """Append the Luhn check digit, computed here independently of the code under test."""
    total = 0
    for index, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


PHONES = [
    ("13812345678", "+8613812345678"),
    ("138 1234 5678", "+8613812345678"),
    ("138-1234-5678", "+8613812345678"),
    ("+86 138 1234 5678", "+8613812345678"),
    ("(+86) 138-1234-5678", "+8613812345678"),
    ("008613812345678", "+8613812345678"),
    ("19912345678", "+8619912345678"),
    ("15012345678", "+8615012345678"),
]


@pytest.mark.parametrize(("typed", "e164"), PHONES)
def test_mainland_mobiles_are_normalised_to_e164(typed: str, e164: str) -> None:
    assert normalise_mobile(typed) == e164


NOT_MOBILES = [
    ("landline", "0797-8123456"),
    ("landline in E.164", "+867978123456"),
    ("Hong Kong mobile", "+85291234567"),
    ("ten digits", "1381234567"),
    ("twelve digits", "138123456789"),
    ("no such prefix", "12012345678"),
    ("letters", "phone"),
    ("letters read as keypad digits by phonenumbers", "139abcd1234"),
    ("a vanity number", "138-CALL-5678"),
    ("full-width digits", "１３８１２３４５６７８"),
    ("a dot", "138.1234.5678"),
    ("an extension", "13812345678 ext 1"),
    ("a newline", "13812345678\n"),
    ("empty", ""),
]


@pytest.mark.parametrize(("case", "typed"), NOT_MOBILES, ids=[case for case, _ in NOT_MOBILES])
def test_other_numbers_are_refused(case: str, typed: str) -> None:
    with pytest.raises(FieldError) as caught:
        normalise_mobile(typed)
    assert caught.value.field == PHONE_FIELD
    assert caught.value.message_zh


CARDS = [
    ("4111111111111111", "4111111111111111"),
    ("4111 1111 1111 1111", "4111111111111111"),
    ("6011-0009-9013-9424", "6011000990139424"),
    (luhn_complete("62220202001122334"), luhn_complete("62220202001122334")),  # 18 digits
    (luhn_complete("622202020011223344"), luhn_complete("622202020011223344")),  # 19 digits
    (luhn_complete("62220202001"), luhn_complete("62220202001")),  # 12 digits
]


@pytest.mark.parametrize(("typed", "normalised"), CARDS)
def test_luhn_valid_cards_of_12_to_19_digits_pass(typed: str, normalised: str) -> None:
    assert normalise_bank_card(typed) == normalised


BAD_CARDS = [
    ("Luhn fails", "4111111111111112", "Luhn"),
    ("11 digits", luhn_complete("6222020200"), "12 to 19"),
    ("20 digits", luhn_complete("6222020200112233445"), "12 to 19"),
    ("letters", "4111-1111-1111-111A", "12 to 19"),
    ("empty", "", "12 to 19"),
]


@pytest.mark.parametrize(("case", "typed", "says"), BAD_CARDS, ids=[case for case, _, _ in BAD_CARDS])
def test_bad_cards_are_refused(case: str, typed: str, says: str) -> None:
    with pytest.raises(FieldError) as caught:
        normalise_bank_card(typed)
    assert caught.value.field == BANK_CARD_FIELD
    assert says in caught.value.message
    assert "银行卡号" in caught.value.message_zh


@settings(deadline=None)
@given(st.text(alphabet="0123456789", min_size=11, max_size=18))
def test_every_luhn_completed_number_of_valid_length_passes_and_a_changed_last_digit_fails(body: str) -> None:
    card = luhn_complete(body)
    assert normalise_bank_card(card) == card
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    with pytest.raises(FieldError):
        normalise_bank_card(wrong)


MASKS = [
    (mask_id_number, "36070219850101123X", "360702********123X"),
    (mask_id_number, "36070219850101123x", "360702********123X"),
    (mask_id_number, "360702850101123", "360702*****1123"),  # an old 15-digit number
    (mask_id_number, "123", "***"),
    (mask_phone, "13812345678", "138****5678"),
    (mask_phone, "+8613812345678", "138****5678"),
    (mask_phone, "138 1234 5678", "138****5678"),
    (mask_phone, "1234", "****"),
    (mask_name, "张三丰", "张*丰"),
    (mask_name, "张三", "张*"),
    (mask_name, "欧阳小锋", "欧**锋"),
    (mask_name, "买买提·艾力", "买****力"),
    (mask_name, "张", "*"),
    (mask_name, "", ""),
]


@pytest.mark.parametrize(("mask", "value", "masked"), MASKS)
def test_masking(mask, value: str, masked: str) -> None:  # type: ignore[no-untyped-def]
    assert mask(value) == masked
