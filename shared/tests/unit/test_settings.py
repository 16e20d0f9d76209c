"""Service settings: env prefixes, the shared NATS_URL, and refusing dev secrets outside dev."""

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from carekit.settings import ServiceSettings

STRONG = "k3y-" + "x" * 40
JWKS = {"jwt_jwks_url": "https://idp.example/jwks"}
# Everything else prod insists on, so that each test below fails for its own reason only.
PROD = {"environment": "prod", "pii_keys": "k1:" + "A" * 43 + "=", "blind_index_key": "B" * 43 + "="}


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    service_name: str = "demo"
    database_url: str = "postgresql+asyncpg://u@h/demo"


class WithSecret(DemoSettings):
    webhook_secret: SecretStr = SecretStr("dev-insecure-webhook")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch) -> None:
    for name in ("NATS_URL", "DATABASE_URL", "CURSOR_SECRET", "ENVIRONMENT", "BLIND_INDEX_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_dev_defaults_are_fine() -> None:
    settings = DemoSettings()
    assert settings.environment == "dev"
    assert settings.cursor_secret.get_secret_value().startswith("dev-insecure-")
    assert settings.stream_name == "DEMO"


def test_test_environment_allows_dev_defaults() -> None:
    assert DemoSettings(environment="test").environment == "test"


def test_prod_refuses_the_default_cursor_secret() -> None:
    with pytest.raises(ValidationError, match="cursor_secret"):
        DemoSettings(**PROD, **JWKS)


def test_prod_refuses_a_subclass_dev_secret() -> None:
    with pytest.raises(ValidationError, match="webhook_secret"):
        WithSecret(**PROD, **JWKS, cursor_secret=STRONG)


@pytest.mark.parametrize("secret", ["", "short"])
def test_prod_refuses_empty_or_short_secrets(secret) -> None:
    with pytest.raises(ValidationError, match="cursor_secret"):
        DemoSettings(**PROD, **JWKS, cursor_secret=secret)


def test_prod_needs_a_jwt_key() -> None:
    with pytest.raises(ValidationError, match="jwt_public_key_file or jwt_jwks_url"):
        DemoSettings(**PROD, cursor_secret=STRONG)


@pytest.mark.parametrize("key", [{"jwt_jwks_url": "https://idp.example/jwks"},
                                 {"jwt_public_key_file": "/etc/guanhuai/jwt.pub.pem"}])
def test_prod_with_real_secrets_and_a_key_is_fine(key) -> None:
    assert DemoSettings(**PROD, cursor_secret=STRONG, **key).environment == "prod"


def test_prod_from_the_environment_is_checked_too(monkeypatch) -> None:
    monkeypatch.setenv("DEMO_ENVIRONMENT", "prod")
    monkeypatch.setenv("DEMO_JWT_JWKS_URL", "https://idp.example/jwks")
    monkeypatch.setenv("DEMO_PII_KEYS", PROD["pii_keys"])
    monkeypatch.setenv("BLIND_INDEX_KEY", PROD["blind_index_key"])
    with pytest.raises(ValidationError, match="cursor_secret"):
        DemoSettings()
    monkeypatch.setenv("DEMO_CURSOR_SECRET", STRONG)
    assert DemoSettings().environment == "prod"


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError):
        DemoSettings(environment="production")


def test_nats_url_is_read_without_prefix(monkeypatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://bus:4222")
    monkeypatch.setenv("DEMO_NATS_URL", "nats://wrong:4222")
    assert DemoSettings().nats_url == "nats://bus:4222"


def test_nats_url_keyword_still_works() -> None:
    assert DemoSettings(nats_url="nats://kw:4222").nats_url == "nats://kw:4222"


def test_database_url_is_read_with_the_service_prefix(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone-elses/db")
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql+asyncpg://demo@db/demo")
    monkeypatch.setenv("DEMO_PORT", "8123")
    settings = DemoSettings()
    assert settings.database_url == "postgresql+asyncpg://demo@db/demo"
    assert settings.port == 8123


def test_unprefixed_database_url_is_ignored(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone-elses/db")
    assert DemoSettings().database_url == "postgresql+asyncpg://u@h/demo"


def test_secrets_do_not_show_in_repr() -> None:
    assert STRONG not in repr(DemoSettings(cursor_secret=STRONG))
