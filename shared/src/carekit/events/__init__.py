from carekit.events.envelope import EventEnvelope, InvalidEvent, new_event

__all__ = ["EventEnvelope", "InvalidEvent", "new_event"]
