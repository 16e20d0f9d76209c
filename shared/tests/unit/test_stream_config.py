"""Per-environment stream config: loading, validation, and how it changes the declared streams."""

from pathlib import Path

import pytest
from nats.js.api import DiscardPolicy, RetentionPolicy

from carekit.devstack.catalogue import SERVICES
from carekit.events.stream_config import (
    NO_OVERRIDES,
    STREAMS_CONFIG_ENV,
    StreamsConfig,
    StreamsConfigError,
    _cached,
    active_streams_config,
    effective_streams,
    load_streams_config,
    main,
)
from carekit.events.streams import StreamSpec, dead_letter_stream, service_stream


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "streams.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_the_variable_streams_are_declared_as_before(monkeypatch) -> None:
    monkeypatch.delenv(STREAMS_CONFIG_ENV, raising=False)
    spec = service_stream("registry", duplicate_window_seconds=30, replicas=2, max_age_seconds=60)
    assert active_streams_config() is NO_OVERRIDES
    assert NO_OVERRIDES.apply(spec) is spec
    config = spec.to_config()
    assert (config.name, config.subjects, config.num_replicas) == ("REGISTRY", ["registry.>"], 2)
    assert config.retention == RetentionPolicy.LIMITS and config.discard == DiscardPolicy.OLD
    assert (config.duplicate_window, config.max_age, config.max_bytes) == (30, 60, None)


def test_dev_profile_equals_the_settings_defaults() -> None:
    dev = load_streams_config("dev")
    assert dev.environment == "dev"
    for service in SERVICES:
        stream, dlq = effective_streams(service.name, dev)
        assert stream == service_stream(service.name)
        assert dlq.replicas == 1 and dlq.max_age_seconds == 30 * 86400


def test_prod_profile_is_r3_with_a_longer_window_and_limits() -> None:
    prod = load_streams_config("prod")
    for service in SERVICES:
        stream, dlq = effective_streams(service.name, prod)
        assert stream.replicas == dlq.replicas == 3
        assert stream.duplicate_window_seconds == 600
        assert stream.discard == "new" and stream.max_bytes == 50 * 2**30 and stream.max_age_seconds == 0
        assert dlq.discard == "old" and dlq.max_age_seconds == 90 * 86400
        assert stream.subjects == [f"{service.name}.>"] and dlq.subjects == [f"dlq.{service.name}.>"]
    work = prod.apply(
        StreamSpec(name="ENTITLEMENTS_WORK", subjects=["work.entitlements.cycle_item"], retention="workqueue")
    )
    assert (work.retention, work.replicas, work.max_bytes) == ("workqueue", 3, 2**30)


def test_order_is_defaults_then_dead_letters_then_the_named_stream(tmp_path) -> None:
    config = load_streams_config(
        write(
            tmp_path,
            """
version: 1
environment: staging
defaults: {replicas: 3, max_bytes: 1000}
dead_letters: {replicas: 2}
streams:
  DLQ_RELIEF: {max_bytes: 5}
  ENTITLEMENTS_WORK: {retention: workqueue, max_msgs: 10}
""",
        )
    )
    assert config.apply(service_stream("relief")).replicas == 3
    dlq = config.apply(dead_letter_stream("relief"))
    assert (dlq.replicas, dlq.max_bytes) == (2, 5)
    assert config.apply(dead_letter_stream("registry")).max_bytes == 1000
    work = config.apply(StreamSpec(name="ENTITLEMENTS_WORK", subjects=["entitlements.work.>"]))
    assert (work.retention, work.max_msgs, work.replicas) == ("workqueue", 10, 3)
    assert work.to_config().retention == RetentionPolicy.WORK_QUEUE


def test_fields_left_out_keep_what_the_service_asked_for(tmp_path) -> None:
    config = load_streams_config(write(tmp_path, "version: 1\ndefaults: {replicas: 3}\n"))
    spec = config.apply(service_stream("registry", duplicate_window_seconds=45, max_age_seconds=3600))
    assert (spec.replicas, spec.duplicate_window_seconds, spec.max_age_seconds) == (3, 45, 3600)


@pytest.mark.parametrize(
    "text, message",
    [
        ("version: 2\n", "version"),
        ("version: 1\ndefaults: {replicas: 0}\n", "replicas"),
        ("version: 1\ndefaults: {replicas: 7}\n", "replicas"),
        ("version: 1\ndefaults: {retention: forever}\n", "retention"),
        ("version: 1\ndefaults: {replica: 3}\n", "replica"),
        ("version: 1\nstreams: {registry: {replicas: 3}}\n", "upper case"),
        ("version: 1\ndefaults: {duplicate_window_seconds: 600, max_age_seconds: 60}\n", "may not exceed"),
        ("version: 1\ndefaults: [1, 2]\n", "defaults"),
        ("version: 1\ndefaults: {replicas: 3\n", "not valid YAML"),
    ],
)
def test_invalid_files_are_refused_with_the_reason(tmp_path, text: str, message: str) -> None:
    with pytest.raises(StreamsConfigError, match=message):
        load_streams_config(write(tmp_path, text))


def test_a_window_longer_than_a_streams_own_age_limit_is_refused_when_applied(tmp_path) -> None:
    text = "version: 1\nenvironment: x\ndefaults: {duplicate_window_seconds: 600}\n"
    config = load_streams_config(write(tmp_path, text))
    with pytest.raises(StreamsConfigError, match="REGISTRY"):
        config.apply(service_stream("registry", max_age_seconds=60))


def test_unknown_profile_or_missing_file_names_the_profiles(tmp_path) -> None:
    with pytest.raises(StreamsConfigError, match=r"\['dev', 'prod'\]"):
        load_streams_config("staging")
    with pytest.raises(StreamsConfigError, match="cannot read"):
        load_streams_config(tmp_path / "absent.yaml")


def test_variable_names_a_profile_or_a_file(monkeypatch, tmp_path) -> None:
    _cached.cache_clear()
    monkeypatch.setenv(STREAMS_CONFIG_ENV, "prod")
    assert active_streams_config().environment == "prod"
    monkeypatch.setenv(STREAMS_CONFIG_ENV, str(write(tmp_path, "version: 1\nenvironment: mine\n")))
    assert active_streams_config().environment == "mine"
    _cached.cache_clear()


def test_empty_file_changes_nothing(tmp_path) -> None:
    config = load_streams_config(write(tmp_path, ""))
    assert config == StreamsConfig()
    spec = service_stream("relief")
    assert config.apply(spec) is spec


def test_check_command_prints_every_stream_or_the_error(capsys, tmp_path) -> None:
    assert main(["prod"]) == 0
    out = capsys.readouterr().out
    for service in SERVICES:
        assert service.name.upper() in out and f"DLQ_{service.name.upper()}" in out
    assert main([str(write(tmp_path, "version: 1\ndefaults: {replicas: 9}\n"))]) == 1
    assert "replicas" in capsys.readouterr().err
