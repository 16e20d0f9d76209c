"""Pure domain code of the relief: no framework imports."""
