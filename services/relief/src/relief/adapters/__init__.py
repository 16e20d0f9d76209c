"""adapters layer of the relief."""
