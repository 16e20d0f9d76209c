"""PII at rest: AES-GCM field encryption with key ids (for rotation) and HMAC blind indexes.

A `FieldCipher` encrypts with its active key and decrypts with any key in its ring, so keys can be
rotated by adding a new active key and re-encrypting at leisure. A blind index is a keyed hash of
the normalised value: equal values give equal indexes (exact lookup, uniqueness), and without the
key the index reveals nothing. The blind-index key is platform-wide, so that one service can look
up a person by the index another service published.
"""

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class UnknownKey(Exception):
    """A ciphertext was written with a key id that is not in the key ring."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    ciphertext: bytes  # nonce || AES-GCM ciphertext and tag


def parse_keyring(spec: str) -> dict[str, bytes]:
    """`"k1:<base64 32 bytes>,k2:<…>"` → {key id: key}."""
    ring: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, _, encoded = item.partition(":")
        key = base64.b64decode(encoded)
        if len(key) != 32:
            raise ValueError(f"key {key_id!r} must be 32 bytes (AES-256), got {len(key)}")
        ring[key_id] = key
    if not ring:
        raise ValueError("the key ring is empty")
    return ring


def dev_key(label: str) -> bytes:
    """A deterministic development key (never valid outside dev/test: settings refuse it)."""
    return hashlib.sha256(f"guanhuai-dev-{label}".encode()).digest()


class FieldCipher:
    def __init__(self, keyring: dict[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keyring:
            raise ValueError(f"active key {active_key_id!r} is not in the key ring")
        self._ring = {kid: AESGCM(key) for kid, key in keyring.items()}
        self.active_key_id = active_key_id

    def seal(self, plaintext: str, *, context: bytes = b"") -> Sealed:
        """Encrypt; `context` (e.g. the column name) is bound as associated data."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ring[self.active_key_id].encrypt(nonce, plaintext.encode(), context)
        return Sealed(self.active_key_id, nonce + sealed)

    def open(self, sealed: Sealed, *, context: bytes = b"") -> str:
        aead = self._ring.get(sealed.key_id)
        if aead is None:
            raise UnknownKey(sealed.key_id)
        nonce, body = sealed.ciphertext[:NONCE_BYTES], sealed.ciphertext[NONCE_BYTES:]
        return aead.decrypt(nonce, body, context).decode()


class BlindIndex:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, normalised_value: str, *, purpose: str) -> str:
        """Hex HMAC-SHA256 of `purpose:value` (the purpose keeps ID and phone indexes apart)."""
        message = f"{purpose}:{normalised_value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
