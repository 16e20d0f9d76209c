"""Key material: the development Ed25519 key pair under `.data/keys`, and PEM loading."""

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from carekit.paths import data_dir

DEV_PRIVATE = "dev-jwt-ed25519.pem"
DEV_PUBLIC = "dev-jwt-ed25519.pub.pem"


def ensure_dev_keys(directory: Path | None = None) -> tuple[Path, Path]:
    """Generate the dev signing key pair on first use; returns (private, public) PEM paths."""
    keys = directory or data_dir() / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    private_path, public_path = keys / DEV_PRIVATE, keys / DEV_PUBLIC
    if not private_path.exists():
        key = Ed25519PrivateKey.generate()
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        tmp = private_path.with_suffix(".tmp")
        tmp.write_bytes(private_pem)
        tmp.chmod(0o600)
        public_path.write_bytes(public_pem)
        tmp.replace(private_path)
    return private_path, public_path


def load_private_key(path: Path):  # noqa: ANN201 - any PEM private key type
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def load_public_key(path: Path):  # noqa: ANN201
    return serialization.load_pem_public_key(path.read_bytes())
