"""adapters layer of the notifications."""
