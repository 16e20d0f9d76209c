"""Signed, opaque cursors."""

import pytest

from carekit.http.pagination import decode_cursor, encode_cursor
from carekit.http.problems import ProblemError

POSITION = {"created_at": "2024-05-01T08:00:00+00:00", "id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}


def test_round_trip() -> None:
    cursor = encode_cursor(POSITION, "s3cret", "/v1/notes")
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor  # safe in a query string
    assert decode_cursor(cursor, "s3cret", "/v1/notes") == POSITION


@pytest.mark.parametrize(("secret", "scope"), [("other", "/v1/notes"), ("s3cret", "/v1/families")])
def test_other_secret_or_list_is_refused(secret, scope) -> None:
    cursor = encode_cursor(POSITION, "s3cret", "/v1/notes")
    with pytest.raises(ProblemError) as caught:
        decode_cursor(cursor, secret, scope)
    assert caught.value.status == 400
    assert caught.value.slug == "bad-cursor"


@pytest.mark.parametrize("cursor", ["", "=", "a", "a" * 17, "光标", "%%%%"])
def test_junk_is_refused(cursor) -> None:
    with pytest.raises(ProblemError):
        decode_cursor(cursor, "s3cret")


def test_signed_non_object_is_refused() -> None:
    with pytest.raises(ProblemError):
        decode_cursor(encode_cursor([1, 2], "s3cret"), "s3cret")  # type: ignore[arg-type]
