"""Per-environment stream definitions: replicas, retention, duplicate window and limits, as versioned config.

`GUANHUAI_STREAMS_CONFIG` names a profile shipped with the kit (`dev`, `prod`: the YAML files in
`stream_profiles/`) or the path of a YAML file of the same shape. `ensure_stream` applies it to every
stream a service declares at start-up: first `defaults`, then `dead_letters` for the `DLQ_*` streams,
then the entry under `streams` with the stream's own name. A field left out keeps the value the
service asked for (its `<SVC>_STREAM_*` settings), so without the variable nothing changes.

    version: 1
    environment: prod
    defaults: {replicas: 3, duplicate_window_seconds: 600, max_bytes: 21474836480}
    dead_letters: {max_age_seconds: 7776000}
    streams:
      RELIEF: {max_age_seconds: 31622400}

`python -m carekit.events.stream_config prod` validates a profile or file and prints the streams
the four services would declare with it.
"""

import dataclasses
import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from carekit.events.streams import StreamSpec, dead_letter_stream, service_stream

STREAMS_CONFIG_ENV = "GUANHUAI_STREAMS_CONFIG"
PROFILES_DIR = Path(__file__).parent / "stream_profiles"
STREAM_NAME = r"^[A-Z][A-Z0-9_]*$"


class StreamsConfigError(ValueError):
    """The stream config file is missing, not YAML, or does not validate."""


def _check_window(window: float | None, max_age: float | None) -> None:
    if window is not None and max_age and window > max_age:
        raise ValueError(f"duplicate_window_seconds ({window}) may not exceed max_age_seconds ({max_age})")


class StreamLimits(BaseModel):
    """Overrides for one stream or a group of streams; None keeps what the service declared."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    replicas: int | None = Field(default=None, ge=1, le=5)
    retention: Literal["limits", "interest", "workqueue"] | None = None
    storage: Literal["file", "memory"] | None = None
    discard: Literal["old", "new"] | None = None
    duplicate_window_seconds: float | None = Field(default=None, gt=0)
    max_age_seconds: float | None = Field(default=None, ge=0, description="0 = no age limit")
    max_bytes: int | None = Field(default=None, ge=-1, description="-1 = no size limit")
    max_msgs: int | None = Field(default=None, ge=-1)
    max_msg_size: int | None = Field(default=None, ge=-1)

    @model_validator(mode="after")
    def _window_within_age(self) -> "StreamLimits":
        _check_window(self.duplicate_window_seconds, self.max_age_seconds)
        return self

    def overrides(self) -> dict[str, object]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class StreamsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    environment: str = "default"
    defaults: StreamLimits = StreamLimits()
    dead_letters: StreamLimits = StreamLimits()
    streams: dict[str, StreamLimits] = {}

    @field_validator("streams")
    @classmethod
    def _stream_names(cls, streams: dict[str, StreamLimits]) -> dict[str, StreamLimits]:
        bad = [name for name in streams if not re.match(STREAM_NAME, name)]
        if bad:
            raise ValueError(f"stream names are upper case like REGISTRY or DLQ_RELIEF, got {bad}")
        return streams

    def apply(self, spec: StreamSpec) -> StreamSpec:
        """The spec with this environment's overrides; the spec itself when there are none."""
        changes = self.defaults.overrides()
        if spec.name.startswith("DLQ_"):
            changes |= self.dead_letters.overrides()
        if spec.name in self.streams:
            changes |= self.streams[spec.name].overrides()
        if not changes:
            return spec
        result = dataclasses.replace(spec, **changes)
        try:
            _check_window(result.duplicate_window_seconds, result.max_age_seconds)
        except ValueError as exc:
            raise StreamsConfigError(f"{self.environment}: stream {spec.name}: {exc}") from exc
        return result


NO_OVERRIDES = StreamsConfig()


def load_streams_config(source: str | Path) -> StreamsConfig:
    """Load and validate a profile name (`dev`, `prod`) or the path of a YAML file."""
    path = Path(source)
    if not path.suffix and (PROFILES_DIR / f"{source}.yaml").is_file():
        path = PROFILES_DIR / f"{source}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        profiles = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
        raise StreamsConfigError(f"cannot read stream config {source!r} (profiles: {profiles}): {exc}") from exc
    except yaml.YAMLError as exc:
        raise StreamsConfigError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return StreamsConfig.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        raise StreamsConfigError(f"{path} is not a valid stream config:\n{exc}") from exc


@lru_cache(maxsize=8)
def _cached(source: str) -> StreamsConfig:
    return load_streams_config(source)


def active_streams_config() -> StreamsConfig:
    """The config named by GUANHUAI_STREAMS_CONFIG, or one that changes nothing."""
    source = os.environ.get(STREAMS_CONFIG_ENV, "").strip()
    return _cached(source) if source else NO_OVERRIDES


def effective_streams(service_name: str, config: StreamsConfig) -> list[StreamSpec]:
    """What a service declares at start-up with default settings: its event stream and its DLQ."""
    return [config.apply(service_stream(service_name)), config.apply(dead_letter_stream(service_name))]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m carekit.events.stream_config <profile|file.yaml>", file=sys.stderr)
        return 2
    try:
        config = load_streams_config(argv[0])
    except StreamsConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    from carekit.devstack.catalogue import SERVICES

    for service in SERVICES:
        for spec in effective_streams(service.name, config):
            print(f"{spec.name:<20} {spec}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
