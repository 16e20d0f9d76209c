"""structlog set-up: JSON lines (pretty in a terminal), bound ids, and PII masking."""

import logging
import sys
from collections.abc import Mapping
from typing import Any

import structlog

PII_KEYS = frozenset(
    {"national_id", "id_number", "phone", "phone_number", "bank_account", "bank_card", "name", "full_name"}
)
MASK = "***"


def _normalise(key: object) -> str:
    """`nationalId`, `National-ID` and `national_id` are the same key."""
    return str(key).lower().replace("_", "").replace("-", "")


_PII_NORMALISED = frozenset(_normalise(k) for k in PII_KEYS)


def mask_pii(value: Any) -> Any:
    """Replace the value of every PII key, at any depth, with a mask."""
    if isinstance(value, Mapping):
        return {k: (MASK if _normalise(k) in _PII_NORMALISED else mask_pii(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_pii(v) for v in value]
    if isinstance(value, tuple):  # a plain tuple: named tuples cannot be rebuilt from one iterable
        return tuple(mask_pii(v) for v in value)
    return value


def _pii_processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return mask_pii(event_dict)


def configure_logging(level: str = "INFO", json: bool | None = None) -> None:
    """Configure structlog and route stdlib logging through it. Safe to call more than once."""
    if json is None:
        json = not sys.stderr.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _pii_processor,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def bind_context(**ids: Any) -> None:
    """Bind request_id / trace_id / event_id (and friends) to every log line in this context."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in ids.items() if v is not None})


def clear_context() -> None:
    structlog.contextvars.clear_contextvars()


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
