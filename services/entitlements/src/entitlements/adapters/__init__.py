"""adapters layer of the entitlements."""
