"""Phone numbers as the registry gives them (E.164). Checked before sending; never stored."""

import re

import phonenumbers

PHONE_INDEX_PURPOSE = "phone"
# The common case, checked without the full metadata lookup: a mainland mobile number.
CN_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9][0-9]{9})$")


def valid_mobile(phone: str | None) -> str | None:
    """The E.164 form of a valid number, or None."""
    if not phone:
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
