"""Partner webhooks: retry schedule, jitter, region filter and the SSRF rules (pure functions)."""

import ipaddress
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

# Standard Webhooks' suggested schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
SCHEDULE_SECONDS: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2
# Cloud metadata endpoints (AWS/GCP/Azure, Alibaba, Tencent) are refused even if "public".
METADATA = {ipaddress.ip_address(a) for a in ("169.254.169.254", "100.100.100.200", "169.254.0.23", "fd00:ec2::254")}


def next_attempt_delay(attempt: int, *, scale: float = 1.0, rng: random.Random | None = None) -> float | None:
    """Seconds to wait before delivery attempt number `attempt + 1`; None when the schedule is exhausted.

    `attempt` counts attempts made so far (1 after the first one). Jitter spreads retries ±20 %.
    """
    if attempt >= len(SCHEDULE_SECONDS):
        return None
    base = SCHEDULE_SECONDS[attempt] * scale
    r = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return base * r


def region_matches(prefix: str, region_code: str | None) -> bool:
    """A subscription with a prefix gets only events whose region starts with it."""
    return not prefix or (region_code is not None and region_code.startswith(prefix))


def type_matches(patterns: Iterable[str], event_type: str) -> bool:
    """`relief.payment.*` matches one level, `relief.>` everything below, else exact."""
    for pattern in patterns:
        if pattern == event_type:
            return True
        if pattern.endswith(".>") and event_type.startswith(pattern[:-1]):
            return True
        if pattern.endswith(".*"):
            stem = pattern[:-1]
            if event_type.startswith(stem) and "." not in event_type[len(stem) :]:
                return True
    return False


class UnsafeUrl(ValueError):
    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message_zh = message_zh


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int


def parse_target(url: str) -> Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("Only http and https URLs are allowed.", "仅允许 http 或 https 地址。")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.", "地址缺少主机名。")
    if parts.username or parts.password:
        raise UnsafeUrl("Credentials in the URL are not allowed.", "地址中不得包含用户名或密码。")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return Target(parts.scheme, parts.hostname, port)


def check_address(address: str, allow: Sequence[str] = ()) -> None:
    """Refuse loopback, private, link-local, shared, reserved and metadata addresses unless allow-listed."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in ipaddress.ip_network(a, strict=False) for a in allow):
        return
    inward = (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in METADATA
        or ip in ipaddress.ip_network("100.64.0.0/10")
    )
    if inward:
        raise UnsafeUrl(
            f"The URL resolves to {ip}, an internal address; partner endpoints must be public.",
            f"该地址解析为内部地址 {ip}；合作方地址必须是公网地址。",
        )
