"""JetStream stream declarations, applied idempotently by the producing service at start-up."""

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: list[str]
    duplicate_window_seconds: float = 120.0
    replicas: int = 1
    max_age_seconds: float | None = None
    max_bytes: int | None = None

    def to_config(self) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            subjects=self.subjects,
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            duplicate_window=self.duplicate_window_seconds,
            num_replicas=self.replicas,
            max_age=self.max_age_seconds,
            max_bytes=self.max_bytes,
        )


def service_stream(
    service_name: str, *, duplicate_window_seconds: float = 120.0, replicas: int = 1,
    max_age_seconds: float | None = None,
) -> StreamSpec:
    """The one stream a service produces to: name `REGISTRY`, subjects `registry.>`."""
    return StreamSpec(
        name=service_name.upper(),
        subjects=[f"{service_name}.>"],
        duplicate_window_seconds=duplicate_window_seconds,
        replicas=replicas,
        max_age_seconds=max_age_seconds,
    )


def dead_letter_stream(service_name: str, *, replicas: int = 1) -> StreamSpec:
    """Where a service's consumers park events they could not handle: `DLQ_REGISTRY`, `dlq.registry.>`."""
    return StreamSpec(name=f"DLQ_{service_name.upper()}", subjects=[f"dlq.{service_name}.>"], replicas=replicas)


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> None:
    """Create the stream, or bring an existing one to this configuration."""
    config = spec.to_config()
    try:
        await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)
