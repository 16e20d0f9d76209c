"""The PII vault a service uses: sealing, opening and blind-indexing personal identifiers."""

import base64
from dataclasses import dataclass

from carekit.crypto import BlindIndex, FieldCipher, Sealed, dev_key, parse_keyring
from carekit.settings import ServiceSettings


@dataclass(frozen=True)
class SealedValue:
    cipher: bytes
    key_id: str


class PiiVault:
    def __init__(self, cipher: FieldCipher, index: BlindIndex) -> None:
        self._cipher = cipher
        self._index = index

    def seal(self, value: str, field: str) -> SealedValue:
        sealed = self._cipher.seal(value, context=field.encode())
        return SealedValue(sealed.ciphertext, sealed.key_id)

    def open(self, cipher: bytes, key_id: str, field: str) -> str:
        return self._cipher.open(Sealed(key_id, cipher), context=field.encode())

    def index(self, normalised_value: str, field: str) -> str:
        return self._index(normalised_value, purpose=field)


def build_vault(settings: ServiceSettings) -> PiiVault:
    """From settings; in dev/test, deterministic development keys (prod settings refuse to start without)."""
    if settings.pii_keys is not None:
        ring = parse_keyring(settings.pii_keys.get_secret_value())
        active = settings.pii_active_key
    else:
        ring, active = {"dev": dev_key("pii")}, "dev"
    if settings.blind_index_key is not None:
        index_key = base64.b64decode(settings.blind_index_key.get_secret_value())
    else:
        index_key = dev_key("blind-index")
    return PiiVault(FieldCipher(ring, active), BlindIndex(index_key))
