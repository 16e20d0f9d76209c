"""service layer of the entitlements."""
