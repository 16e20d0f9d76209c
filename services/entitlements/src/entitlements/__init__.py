"""Entitlements service: policies as data, explained decisions, cycles and eligibility checks."""
