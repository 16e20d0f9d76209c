"""Test support: a pytest plugin with real embedded servers, and helpers to run a service in-process."""
