"""Pure domain code of the registry: no framework imports."""
