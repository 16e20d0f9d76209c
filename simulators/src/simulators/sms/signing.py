"""The simulator's own reading of the two providers' request signatures (verified against the
providers' documented examples in simulators/tests)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote


def aliyun_encode(value: str) -> str:
    """Alibaba Cloud's percent-encoding: RFC 3986 unreserved characters stay, everything else %XX (UTF-8)."""
    return quote(value, safe="-_.~")


def aliyun_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    canonical = "&".join(f"{aliyun_encode(k)}={aliyun_encode(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{aliyun_encode('/')}&{aliyun_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def tc3_signature(secret_key: str, service: str, timestamp: int, canonical_request: str) -> tuple[str, str]:
    """(credential scope, hex signature) for a TC3-HMAC-SHA256 canonical request."""
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{day}/{service}/tc3_request"
    hashed = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashed}"
    key = hmac.new(f"TC3{secret_key}".encode(), day.encode(), hashlib.sha256).digest()
    key = hmac.new(key, service.encode(), hashlib.sha256).digest()
    key = hmac.new(key, b"tc3_request", hashlib.sha256).digest()
    return scope, hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_canonical_request(
    method: str, path: str, query: str, headers: Mapping[str, str], signed_headers: list[str], payload: bytes
) -> str:
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed_headers)
    return "\n".join(
        [method, path, query, canonical_headers, ";".join(signed_headers), hashlib.sha256(payload).hexdigest()]
    )
