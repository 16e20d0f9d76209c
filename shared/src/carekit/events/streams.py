"""JetStream stream declarations, applied idempotently by the producing service at start-up.

`ensure_stream` brings each declared stream to its spec after applying the per-environment stream
config named by `GUANHUAI_STREAMS_CONFIG` (see `carekit.events.stream_config`); without it the spec
is used as given.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

if TYPE_CHECKING:
    from carekit.events.stream_config import StreamsConfig


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: list[str]
    duplicate_window_seconds: float = 120.0
    replicas: int = 1
    max_age_seconds: float | None = None
    max_bytes: int | None = None
    retention: str = "limits"  # limits | interest | workqueue
    storage: str = "file"  # file | memory
    discard: str = "old"  # old | new: what happens at a size/count limit
    max_msgs: int | None = None
    max_msg_size: int | None = None

    def to_config(self) -> StreamConfig:
        config = StreamConfig(
            name=self.name,
            subjects=self.subjects,
            retention=RetentionPolicy(self.retention),
            storage=StorageType(self.storage),
            discard=DiscardPolicy(self.discard),
            duplicate_window=self.duplicate_window_seconds,
            num_replicas=self.replicas,
            max_age=self.max_age_seconds,
            max_bytes=self.max_bytes,
        )
        if self.max_msgs is not None:
            config.max_msgs = self.max_msgs
        if self.max_msg_size is not None:
            config.max_msg_size = self.max_msg_size
        return config


def service_stream(
    service_name: str,
    *,
    duplicate_window_seconds: float = 120.0,
    replicas: int = 1,
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


async def ensure_stream(js: JetStreamContext, spec: StreamSpec, config: "StreamsConfig | None" = None) -> None:
    """Create the stream, or bring an existing one to this configuration.

    `config` (default: the file named by `GUANHUAI_STREAMS_CONFIG`, if any) overrides the spec's
    replicas, retention, duplicate window and limits for this environment.
    """
    from carekit.events.stream_config import active_streams_config  # it imports StreamSpec from here

    spec = (config if config is not None else active_streams_config()).apply(spec)
    try:
        await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(spec.to_config())
        return
    await js.update_stream(spec.to_config())
