"""Phone numbers as the registry and the providers give them (E.164 or national). Checked before sending or
matching; never stored."""

import re

import phonenumbers

PHONE_INDEX_PURPOSE = "phone"
# What a phone number may be written with: ASCII digits, a leading +, spaces, dashes and parentheses.
# Checked before `phonenumbers` parses, which reads letters as keypad digits (139abcd1234 → 13922231234)
# and full-width or other scripts' digits as ASCII ones: such a number is refused, never rewritten.
# The same pattern (ECMA-262 compatible) bounds the phone fields of the provider callbacks in the OpenAPI.
PHONE_PATTERN = r"^\+?[0-9() -]{1,32}$"
_PHONE = re.compile(PHONE_PATTERN.removesuffix("$") + r"\Z", re.ASCII)
# The common case, checked without the full metadata lookup: a mainland mobile number.
CN_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9][0-9]{9})\Z", re.ASCII)


def well_formed(phone: str) -> bool:
    """Only digits, a leading +, spaces, dashes and parentheses: nothing a parser would have to guess at."""
    return _PHONE.match(phone) is not None


def valid_mobile(phone: str | None) -> str | None:
    """The E.164 form of a valid number, or None (also for a number written with anything else)."""
    if not phone or not well_formed(phone):
        return None
    fast = CN_MOBILE.match(phone.replace(" ", "").replace("-", ""))
    if fast:
        return "+86" + fast.group(1)
    try:
        number = phonenumbers.parse(phone, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
