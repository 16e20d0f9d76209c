"""Embedded development/test servers and the `make run` orchestration."""
