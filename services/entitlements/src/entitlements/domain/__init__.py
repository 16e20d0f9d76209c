"""Pure domain code of the entitlements: no framework imports."""
