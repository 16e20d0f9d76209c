"""Small helpers both SMS adapters share."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
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


def json_document(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ValueError("callback body is not JSON") from exc


def json_array(body: bytes) -> list[dict[str, Any]]:
    document = json_document(body)
    items = document if isinstance(document, list) else [document]
    if not all(isinstance(item, dict) for item in items):
        raise ValueError("callback body must be a JSON object or an array of objects")
    return items
