"""Field encryption and blind indexes, with no I/O."""

import base64

import pytest
from cryptography.exceptions import InvalidTag

from carekit.crypto import BlindIndex, FieldCipher, Sealed, UnknownKey, dev_key, parse_keyring


def ring(*ids: str) -> dict[str, bytes]:
    return {kid: dev_key(kid) for kid in ids}


def test_round_trip_and_fresh_nonce() -> None:
    cipher = FieldCipher(ring("k1"), "k1")
    first, second = cipher.seal("36070219900101123X"), cipher.seal("36070219900101123X")
    assert first.ciphertext != second.ciphertext
    assert b"36070219900101123X" not in first.ciphertext
    assert cipher.open(first) == "36070219900101123X"


def test_rotation_reads_old_keys_and_writes_the_new_one() -> None:
    old = FieldCipher(ring("k1"), "k1").seal("13800138000")
    rotated = FieldCipher(ring("k1", "k2"), "k2")
    assert rotated.open(old) == "13800138000"
    assert rotated.seal("x").key_id == "k2"
    with pytest.raises(UnknownKey):
        FieldCipher(ring("k2"), "k2").open(old)


def test_context_and_tampering_are_detected() -> None:
    cipher = FieldCipher(ring("k1"), "k1")
    sealed = cipher.seal("13800138000", context=b"phone")
    with pytest.raises(InvalidTag):
        cipher.open(sealed, context=b"id_number")
    flipped = Sealed(sealed.key_id, sealed.ciphertext[:-1] + bytes([sealed.ciphertext[-1] ^ 1]))
    with pytest.raises(InvalidTag):
        cipher.open(flipped, context=b"phone")


def test_blind_index_is_keyed_deterministic_and_purpose_bound() -> None:
    index = BlindIndex(dev_key("bi"))
    assert index("36070219900101123X", purpose="ric") == index("36070219900101123X", purpose="ric")
    assert index("36070219900101123X", purpose="ric") != index("36070219900101123X", purpose="phone")
    assert index("36070219900101123X", purpose="ric") != BlindIndex(dev_key("other"))("36070219900101123X",
                                                                                     purpose="ric")


def test_keyring_parsing() -> None:
    key = base64.b64encode(bytes(range(32))).decode()
    assert parse_keyring(f"a:{key}, b:{key}") == {"a": bytes(range(32)), "b": bytes(range(32))}
    with pytest.raises(ValueError):
        parse_keyring("a:" + base64.b64encode(b"short").decode())
    with pytest.raises(ValueError):
        parse_keyring("")
    with pytest.raises(ValueError):
        FieldCipher({"a": bytes(32)}, "b")
