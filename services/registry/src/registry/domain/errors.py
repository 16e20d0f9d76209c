"""The one error the registry's domain raises: a value that breaks a rule, named by field.

The API layer turns it into a 422 problem naming the field, with both messages.
"""

from __future__ import annotations


class FieldError(ValueError):
    """A bad value for one field, explained in English and in Chinese."""

    def __init__(self, field: str, message: str, message_zh: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.message_zh = message_zh

    def __repr__(self) -> str:
        return f"FieldError(field={self.field!r}, message={self.message!r}, message_zh={self.message_zh!r})"
