"""`ensure_stream` applies the stream config on a real JetStream server, creating and updating streams."""

import nats
import pytest
from nats.js.api import DiscardPolicy, RetentionPolicy
from nats.js.errors import APIError

from carekit.events.stream_config import STREAMS_CONFIG_ENV, StreamsConfig, _cached
from carekit.events.streams import StreamSpec, dead_letter_stream, ensure_stream, service_stream

LIMITED = StreamsConfig.model_validate(
    {
        "environment": "test",
        "defaults": {"duplicate_window_seconds": 30, "max_bytes": 10_000_000, "discard": "new", "max_msg_size": 65536},
        "dead_letters": {"max_age_seconds": 3600},
    }
)


async def test_config_shapes_new_and_existing_streams(nats_url) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        await ensure_stream(js, service_stream("sc1"))  # as a service declares it today
        before = (await js.stream_info("SC1")).config
        assert (before.duplicate_window, before.max_bytes, before.discard) == (120, -1, DiscardPolicy.OLD)

        await ensure_stream(js, service_stream("sc1"), LIMITED)  # the next start-up, with the config
        after = (await js.stream_info("SC1")).config
        assert (after.duplicate_window, after.max_bytes, after.discard) == (30, 10_000_000, DiscardPolicy.NEW)
        assert after.max_msg_size == 65536 and after.subjects == ["sc1.>"]

        await ensure_stream(js, dead_letter_stream("sc1"), LIMITED)
        dlq = (await js.stream_info("DLQ_SC1")).config
        assert dlq.max_age == 3600 and dlq.duplicate_window == 30
    finally:
        await nc.close()


async def test_the_variable_reaches_ensure_stream_and_retention_changes_are_refused(
    nats_url, monkeypatch, tmp_path
) -> None:
    path = tmp_path / "streams.yaml"
    path.write_text("version: 1\nenvironment: t\nstreams:\n  SC2_WORK: {retention: workqueue}\n")
    monkeypatch.setenv(STREAMS_CONFIG_ENV, str(path))
    _cached.cache_clear()
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        await ensure_stream(js, StreamSpec(name="SC2_WORK", subjects=["sc2.work.>"]))
        assert (await js.stream_info("SC2_WORK")).config.retention == RetentionPolicy.WORK_QUEUE
        # JetStream keeps a stream's retention for life: the config cannot silently turn it back.
        with pytest.raises(APIError, match="retention"):
            await ensure_stream(js, StreamSpec(name="SC2_WORK", subjects=["sc2.work.>"]), StreamsConfig())
    finally:
        await nc.close()
        _cached.cache_clear()
