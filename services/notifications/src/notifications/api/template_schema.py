"""The template rules of `validate_template`, written as the OpenAPI document states them: one schema per
category, each body with one pattern that also refuses the control characters the kit refuses, so that a
client (or a generator) meets the rules by construction instead of by trial."""

from carekit.http.openapi import REFUSES_CONTROLS, TEXT_CHARS
from notifications.domain.templates import KNOWN_PLACEHOLDERS

# Python's whitespace (what `str.strip` removes) less the control characters the kit refuses.
SPACES = r" \t\n\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PLACEHOLDER = r"\{(?:" + "|".join(KNOWN_PLACEHOLDERS) + r")\}"
_FIRST = rf"(?:[^{SPACES}{{}}{TEXT_CHARS}]|{_PLACEHOLDER})"  # something besides spaces
_PIECE = rf"(?:[^{{}}{TEXT_CHARS}]|{_PLACEHOLDER})"  # braces only around known placeholders
_UNSUBSCRIBE = r"(?:回T退订|回复T退订|回TD退订|回复TD退订|退订回T|退订回TD)[。.!！]?"

STATUTORY_BODY = rf"^[{SPACES}]*{_FIRST}{_PIECE}*$"
MARKETING_BODY = rf"^[{SPACES}]*(?:{_FIRST}{_PIECE}*)?{_UNSUBSCRIBE}[{SPACES}]*$"  # ends with the unsubscribe line
SIGNATURE = rf"^【[^【】{TEXT_CHARS}]{{2,16}}】$"


def _body(pattern: str) -> dict:
    return {"type": "string", "pattern": pattern, REFUSES_CONTROLS: True}


# A marketing text ends with an unsubscribe line; only a marketing text is a survey.
BY_CATEGORY = {
    "oneOf": [
        {"properties": {"category": {"const": "statutory"}, "survey": {"const": False},
                        "body": _body(STATUTORY_BODY)}},
        {"properties": {"category": {"const": "marketing"}, "body": _body(MARKETING_BODY)}},
    ]
}
