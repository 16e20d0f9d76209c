"""Pure domain code of the notifications: no framework imports."""
