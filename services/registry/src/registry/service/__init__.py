"""Use cases of the registry: plain async functions taking a unit of work and ids or commands."""
