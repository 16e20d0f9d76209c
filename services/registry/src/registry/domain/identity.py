"""Identity numbers: resident ID (GB 11643), mainland mobile phone, benefit bank card; and masking.

Every check raises `FieldError` naming the field, with an English and a Chinese message.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from typing import NoReturn

import phonenumbers
from stdnum import luhn, numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from registry.domain.errors import FieldError
from registry.domain.model import Sex

ID_FIELD = "id_number"
PHONE_FIELD = "phone"
BANK_CARD_FIELD = "bank_card"

_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


@dataclass(frozen=True)
class ResidentId:
    """A valid 18-character resident ID and what it says about its holder."""

    number: str  # normalised: upper-case X, no spaces
    region_code: str  # GB/T 2260 county code where the number was first issued
    birth_date: date
    sex: Sex  # odd sequence number: male, even: female


def parse_resident_id(raw: str, *, today: date | None = None) -> ResidentId:
    """Validate a resident ID number and read it; lower-case x and spaces are accepted.

    Checked in order: length, characters, check character (ISO 7064 MOD 11-2), birth date (a real
    date, and not after `today` when given), region (a code GB/T 2260 has ever had, as listed in
    python-stdnum's table; county level almost always, higher levels occur on old numbers).

    The region is not required to have been in force in the birth year, as `stdnum.cn.ric.validate`
    requires: the code is the one in force when the number was issued, often years after birth (a
    person born in 1985 and first registered in 2001 in 章贡区 holds 360702…, a code from 1998).
    Retired codes stay valid: numbers are never reissued when a county is renamed.
    """
    number = re.sub(r"\s", "", raw).upper()
    if len(number) != 18:
        _id_error("A resident ID number has 18 characters.", "公民身份号码应为18位。")
    if not _ID_SHAPE.fullmatch(number):
        _id_error(
            "A resident ID number is 17 digits followed by a digit or X.",
            "公民身份号码应为17位数字加1位数字或X。",
        )
    if ric.calc_check_digit(number) != number[-1]:
        _id_error(
            "The check character of the resident ID number is wrong.",
            "公民身份号码校验码错误。",
        )
    try:
        birth_date = ric.get_birth_date(number)
    except ValidationError:
        _id_error(
            "The birth date in the resident ID number is not a real date.",
            "公民身份号码中的出生日期无效。",
        )
    if today is not None and birth_date > today:
        _id_error(
            "The birth date in the resident ID number is in the future.",
            "公民身份号码中的出生日期晚于今天。",
        )
    if not _known_region(number[:6]):
        _id_error(
            "The region code in the resident ID number is not a GB/T 2260 code.",
            "公民身份号码中的地址码不是有效的行政区划代码。",
        )
    sex = Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE
    return ResidentId(number=number, region_code=number[:6], birth_date=birth_date, sex=sex)


def birth_date_from_id(number: str) -> date:
    """The birth date a valid resident ID number carries."""
    return parse_resident_id(number).birth_date


def sex_from_id(number: str) -> Sex:
    """The sex a valid resident ID number carries: odd sequence number male, even female."""
    return parse_resident_id(number).sex


def check_id_agrees(number: str, *, birth_date: date | None = None, sex: Sex | None = None,
                    today: date | None = None) -> ResidentId:
    """Validate the number (its birth date not after `today` when given: an `id_number` error, the field
    sent), then check that a birth date and sex given with it agree with it."""
    resident_id = parse_resident_id(number, today=today)
    if birth_date is not None and birth_date != resident_id.birth_date:
        raise FieldError(
            "birth_date",
            f"The birth date does not match the resident ID number ({resident_id.birth_date.isoformat()}).",
            f"出生日期与公民身份号码不符（号码中为{resident_id.birth_date.isoformat()}）。",
        )
    if sex is not None and sex is not resident_id.sex:
        raise FieldError(
            "sex",
            f"The sex does not match the resident ID number ({resident_id.sex.value}).",
            f"性别与公民身份号码不符（号码中为{'男' if resident_id.sex is Sex.MALE else '女'}）。",
        )
    return resident_id


# What a typed phone number may hold. `phonenumbers` reads letters as keypad digits (139abcd1234 would
# become +8613922231234), so anything else is refused before it parses.
_PHONE_CHARACTERS = re.compile(r"[0-9+() -]+")


def normalise_mobile(raw: str) -> str:
    """A mainland China mobile number in E.164 form (+8613812345678), or FieldError.

    Only ASCII digits, `+`, spaces, hyphens and parentheses are accepted: nothing is read into a digit."""
    if not _PHONE_CHARACTERS.fullmatch(raw):
        raise FieldError(
            PHONE_FIELD,
            "A phone number may hold only digits, +, spaces, hyphens and parentheses.",
            "手机号码只能包含数字、+、空格、连字符和括号。",
        )
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        _phone_error()
    if (
        phonenumbers.region_code_for_number(parsed) != "CN"
        or not phonenumbers.is_valid_number(parsed)
        or phonenumbers.number_type(parsed) != phonenumbers.PhoneNumberType.MOBILE
    ):
        _phone_error()
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_bank_card(raw: str) -> str:
    """A bank card number of 12–19 digits passing the Luhn check; spaces and hyphens are dropped."""
    number = re.sub(r"[\s-]", "", raw)
    if not re.fullmatch(r"[0-9]{12,19}", number):
        raise FieldError(
            BANK_CARD_FIELD, "A bank card number has 12 to 19 digits.", "银行卡号应为12至19位数字。"
        )
    if not luhn.is_valid(number):
        raise FieldError(
            BANK_CARD_FIELD, "The bank card number is mistyped (Luhn check).", "银行卡号有误（校验位不符）。"
        )
    return number


def mask_id_number(number: str) -> str:
    """Keep the first 6 and last 4 characters: 360702********123X."""
    number = re.sub(r"\s", "", number).upper()
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    """Keep the first 3 and last 4 national digits: 138****5678 (E.164 or national input)."""
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+86") or (len(digits) == 13 and digits.startswith("86")):
        digits = digits[2:]
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str) -> str:
    """Keep the first and last character: 张*三, 欧**锋; a two-character name keeps the first: 张*."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


@functools.lru_cache(maxsize=8192)
def _known_region(code: str) -> bool:
    parts = numdb.get("cn/loc").info(code)
    return any("county" in props for _, props in parts)


def _id_error(message: str, message_zh: str) -> NoReturn:
    raise FieldError(ID_FIELD, message, message_zh)


def _phone_error() -> NoReturn:
    raise FieldError(
        PHONE_FIELD,
        "Not a mainland China mobile number.",
        "不是有效的中国大陆手机号码。",
    )
