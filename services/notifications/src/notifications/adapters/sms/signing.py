"""Request signing for the two SMS providers, kept free of I/O so the documented examples can pin it.

Alibaba Cloud RPC signature v1: StringToSign = Method & percent("/") & percent(sorted canonical query),
Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).
Tencent Cloud API 3.0 TC3-HMAC-SHA256: canonical request → string to sign → key derived from
"TC3"+SecretKey over date, service, "tc3_request".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

TC3 = "TC3-HMAC-SHA256"


def aliyun_percent_encode(value: str) -> str:
    """UTF-8 percent-encoding in which only A-Z a-z 0-9 - _ . ~ stay as they are (space → %20, * → %2A)."""
    return quote(value, safe="-_.~")


def aliyun_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    canonical = "&".join(f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method.upper()}&{aliyun_percent_encode('/')}&{aliyun_percent_encode(canonical)}"


def aliyun_signature(method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    string_to_sign = aliyun_string_to_sign(method, params)
    digest = hmac.new(f"{access_key_secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def tc3_canonical_request(
    method: str, path: str, query: str, headers: Mapping[str, str], payload: bytes
) -> tuple[str, str]:
    """(canonical request, signed header names) over every header given (names and values lowercased)."""
    lowered = sorted((k.lower(), v.strip().lower()) for k, v in headers.items())
    canonical_headers = "".join(f"{k}:{v}\n" for k, v in lowered)
    signed = ";".join(k for k, _ in lowered)
    request = "\n".join([method.upper(), path, query, canonical_headers, signed, hashlib.sha256(payload).hexdigest()])
    return request, signed


def tc3_signature(secret_key: str, service: str, timestamp: int, canonical_request: str) -> tuple[str, str]:
    """(credential scope, hex signature)."""
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{day}/{service}/tc3_request"
    string_to_sign = f"{TC3}\n{timestamp}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    key = _hmac(f"TC3{secret_key}".encode(), day)
    key = _hmac(key, service)
    key = _hmac(key, "tc3_request")
    return scope, hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_authorization(
    secret_id: str,
    secret_key: str,
    service: str,
    timestamp: int,
    method: str,
    path: str,
    signed_headers: Mapping[str, str],
    payload: bytes,
    query: str = "",
) -> str:
    canonical, names = tc3_canonical_request(method, path, query, signed_headers, payload)
    scope, signature = tc3_signature(secret_key, service, timestamp, canonical)
    return f"{TC3} Credential={secret_id}/{scope}, SignedHeaders={names}, Signature={signature}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()
