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


def subscribable(known: Iterable[str]) -> list[str]:
    """Every event-type pattern a subscription may name: each known type, and each `prefix.>` / `prefix.*`
    that matches at least one of them."""
    known = sorted(set(known))
    patterns = set(known)
    for event_type in known:
        segments = event_type.split(".")
        for n in range(1, len(segments)):
            stem = ".".join(segments[:n])
            patterns.add(stem + ".>")
            if n == len(segments) - 1:
                patterns.add(stem + ".*")
    return sorted(patterns)


class UnknownEventTypes(ValueError):
    def __init__(self, types: list[str]) -> None:
        super().__init__(f"Unknown event types: {', '.join(types)}. See GET /v1/event-types.")
        self.message_zh = f"未知的事件类型：{'、'.join(types)}。请查看 GET /v1/event-types。"


def check_event_types(asked: Iterable[str], allowed: Sequence[str]) -> None:
    unknown = [t for t in asked if t not in allowed]
    if unknown:
        raise UnknownEventTypes(unknown)


# A region prefix a subscription may be limited to: a province, prefecture, county, township or village.
DIVISION_PREFIX = r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$"


class OutsideRegion(ValueError):
    """A subscription's region prefix that does not lie inside the region of the admin registering it."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message_zh = message_zh


def subscription_region(requested: str | None, admin_region: str | None, everywhere: bool = False) -> str:
    """The region prefix a new subscription gets: the one asked for if it lies inside the admin's region,
    else the admin's own region. An admin without a region registers none; no subscription is nation-wide."""
    if requested is None:
        if not admin_region:
            raise OutsideRegion(
                "Name the subscription's region_prefix: your token carries no region.",
                "您的令牌未包含辖区，请填写订阅的 region_prefix。",
            )
        return admin_region
    if not everywhere and not (admin_region and requested.startswith(admin_region)):
        raise OutsideRegion(
            f"region_prefix {requested} does not lie inside your region {admin_region or '(none)'}.",
            f"region_prefix {requested} 不在您的辖区 {admin_region or '（无）'} 内。",
        )
    return requested


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
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port out of range
    except ValueError as exc:
        raise UnsafeUrl(f"The URL cannot be read: {exc}.", "地址格式不正确。") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("Only http and https URLs are allowed.", "仅允许 http 或 https 地址。")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.", "地址缺少主机名。")
    if parts.username or parts.password:
        raise UnsafeUrl("Credentials in the URL are not allowed.", "地址中不得包含用户名或密码。")
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


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
