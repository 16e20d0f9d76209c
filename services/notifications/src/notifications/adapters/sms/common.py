"""Small helpers both SMS adapters share."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError, WithJsonSchema

from carekit.china import CHINA
from notifications.domain.phones import PHONE_PATTERN

MAINLAND = re.compile(r"^\+86(1[3-9]\d{9})$")


def national_number(phone: str) -> str | None:
    """ "+8613812345678" → "13812345678"; None for anything that is not a mainland mobile in E.164."""
    match = MAINLAND.match(phone)
    return match.group(1) if match else None


def to_e164(number: str, nationcode: str = "86") -> str:
    number = number.strip()
    if number.startswith("+"):
        return number
    return f"+{nationcode}{number}"


def china_time(text: str) -> datetime:
    """The providers' "YYYY-MM-DD HH:MM:SS" (Beijing time)."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)


# "YYYY-MM-DD HH:MM:SS", Beijing time, as both providers write it: each month with its own days (February
# up to the 29th, which only a leap year has: the one day the pattern lets through and the parser refuses).
_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-9]))"
)
CHINA_TIME = rf"^[1-9][0-9]{{3}}-{_DAY} (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
_CHINA_TIME = re.compile(CHINA_TIME.removesuffix("$") + r"\Z", re.ASCII)


def _china_time_field(value: Any) -> datetime:
    if not isinstance(value, str) or not _CHINA_TIME.match(value):
        raise ValueError("must be a time written YYYY-MM-DD HH:MM:SS (Beijing time)")
    return china_time(value)  # a day the month does not have (02-30) is refused here, by strptime


ChinaTime = Annotated[
    datetime,
    BeforeValidator(_china_time_field),
    WithJsonSchema({"type": "string", "pattern": CHINA_TIME, "examples": ["2026-11-24 10:00:05"]}),
]
Phone = Annotated[
    str,
    Field(
        pattern=PHONE_PATTERN,
        description="Digits, a leading +, spaces, dashes and parentheses only",
        examples=["13812345678"],
    ),
]
NationCode = Annotated[str, Field(pattern=r"^[0-9]{1,4}$", examples=["86"])]
Reference = Annotated[str, Field(max_length=96, description="The provider's id of the message")]


def _whole_number(value: object) -> object:
    """A JSON number without a fraction (429 or 429.0); never a string or a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


class CallbackInvalid(ValueError):
    """A callback body that does not follow the provider's format; `errors` name the fields (field, message)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


def items_of(shape: TypeAdapter[list[Any]], body: bytes) -> list[Any]:
    """The body's items (one JSON object, or an array of them), each validated against the provider's shape.
    The errors never quote the input: a callback carries phone numbers."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise CallbackInvalid([("body", f"is not JSON ({type(exc).__name__})")]) from exc
    single = isinstance(document, dict)
    try:
        return shape.validate_python([document] if single else document)
    except ValidationError as exc:
        raise CallbackInvalid([(_field(e["loc"], single), e["msg"]) for e in exc.errors(include_input=False)]) from exc


def _field(loc: tuple[int | str, ...], single: bool) -> str:
    """`[0].phone_number` for an array's item, `mobile` for a lone object, `body` for the document itself."""
    parts = loc[1:] if single and loc and loc[0] == 0 else loc
    name = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).removeprefix(".")
    return name or "body"


def body_schema(item: type) -> dict[str, Any]:
    """The OpenAPI schema of a callback body: one `item`, or an array of them, with no `$ref` left."""
    schema = TypeAdapter(item).json_schema()
    defs = schema.pop("$defs", {})
    one = _inline(schema, defs)
    return {"anyOf": [{"type": "array", "items": one}, one]}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node
