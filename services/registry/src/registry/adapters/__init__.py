"""adapters layer of the registry."""
