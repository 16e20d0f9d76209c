"""HttpPaymentProvider.parse_callback(s): only correctly signed callbacks are believed."""

import hashlib
import hmac
import json

import pytest

from relief.adapters.payments import PaymentStatus
from relief.adapters.payments.http_provider import HttpPaymentProvider

SECRET = "callback-secret"


def provider() -> HttpPaymentProvider:
    return HttpPaymentProvider("http://127.0.0.1:9", "m1", SECRET, timeout_s=1)


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-Sim-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "X-Sim-Timestamp": "1795478400",
    }


STATUS = {
    "end_to_end_id": "B1-000001",
    "state": "succeeded",
    "provider_ref": "SIM000000000001",
    "reason": None,
    "occurred_at": "2026-11-24T02:00:00Z",
}


def test_a_signed_callback_becomes_a_status() -> None:
    body = json.dumps(STATUS).encode()
    status = provider().parse_callback(signed(body), body)
    assert status == PaymentStatus("B1-000001", "succeeded", "SIM000000000001", None, status.occurred_at)
    assert status.occurred_at is not None and status.occurred_at.utcoffset().total_seconds() == 0


def test_header_names_are_case_insensitive() -> None:
    body = json.dumps(STATUS).encode()
    headers = {k.lower(): v for k, v in signed(body).items()}
    assert provider().parse_callback(headers, body).state == "succeeded"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, headers: (body.replace(b"succeeded", b"failed\x20\x20\x20"), headers),
        lambda body, headers: (body, signed(body, "another-secret")),
        lambda body, headers: (body, {}),
        lambda body, headers: (body, {"X-Sim-Signature": headers["X-Sim-Signature"].replace("sha256=", "sha1=")}),
    ],
    ids=["body-changed", "wrong-secret", "no-signature", "wrong-scheme"],
)
def test_a_tampered_or_unsigned_callback_is_refused(tamper) -> None:  # noqa: ANN001
    body = json.dumps(STATUS).encode()
    bad_body, bad_headers = tamper(body, signed(body))
    with pytest.raises(ValueError):
        provider().parse_callback(bad_headers, bad_body)


def test_signed_but_malformed_bodies_are_refused() -> None:
    for document in (b"not json", json.dumps({**STATUS, "state": "paid"}).encode(), b"[]", b'{"state": "failed"}'):
        with pytest.raises(ValueError):
            provider().parse_callback(signed(document), document)


def test_a_batch_callback_needs_parse_callbacks() -> None:
    batch = [STATUS, {**STATUS, "end_to_end_id": "B1-000002", "state": "failed", "reason": "账户冻结 account frozen"}]
    body = json.dumps(batch, ensure_ascii=False).encode()
    with pytest.raises(ValueError, match="parse_callbacks"):
        provider().parse_callback(signed(body), body)
    statuses = provider().parse_callbacks(signed(body), body)
    assert [(s.end_to_end_id, s.state, s.reason) for s in statuses] == [
        ("B1-000001", "succeeded", None),
        ("B1-000002", "failed", "账户冻结 account frozen"),
    ]
