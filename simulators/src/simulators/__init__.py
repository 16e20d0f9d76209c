"""Simulators of the outside world (payment provider, SMS gateway) for development and tests."""
