"""Key material: the development Ed25519 key pair under `.data/keys`, and PEM loading."""

import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from carekit.paths import data_dir

DEV_PRIVATE = "dev-jwt-ed25519.pem"
DEV_PUBLIC = "dev-jwt-ed25519.pub.pem"


def ensure_dev_keys(directory: Path | None = None) -> tuple[Path, Path]:
    """Generate the dev signing key pair on first use; returns (private, public) PEM paths.

    Services often start together on a fresh checkout, so the private key is published with an
    exclusive hard link (exactly one starter wins) and the public key is always derived from it.
    """
    keys = directory or data_dir() / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    private_path, public_path = keys / DEV_PRIVATE, keys / DEV_PUBLIC
    if not private_path.exists():
        private_pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = _write_temp(keys, private_pem, 0o600)
        try:
            os.link(tmp, private_path)
        except FileExistsError:
            pass  # another process got there first; use its key
        finally:
            tmp.unlink()
    public_pem = load_private_key(private_path).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if not public_path.exists() or public_path.read_bytes() != public_pem:
        _write_temp(keys, public_pem, 0o644).replace(public_path)
    return private_path, public_path


def _write_temp(directory: Path, data: bytes, mode: int) -> Path:
    fd, name = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), mode)
        f.write(data)
    return Path(name)


def load_private_key(path: Path):  # noqa: ANN201 - any PEM private key type
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def load_public_key(path: Path):  # noqa: ANN201
    return serialization.load_pem_public_key(path.read_bytes())
