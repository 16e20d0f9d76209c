"""Pieces both simulators share: seeded draws, fault settings, small admin helpers."""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def draws(seed: int, key: str, count: int = 4) -> list[float]:
    """`count` uniform floats in [0, 1) fixed by (seed, key): the same payment gets the same fate
    whatever order it arrives in, so a run is reproducible from its seed."""
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8 * count).digest()
    return [n / 2**64 for n in struct.unpack(f">{count}Q", digest)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
