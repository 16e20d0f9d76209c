"""Registry service: households, persons, life events and certificates."""
