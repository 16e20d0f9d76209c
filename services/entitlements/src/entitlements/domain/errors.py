"""The errors the entitlements domain raises.

`PolicyError` is a policy that breaks a rule: named by field (`criteria[1].expr`, `benefit.amount`,
`effective_to`, …), explained in English and Chinese, and — for an expression — the position of the
fault in that expression (1-based line and column, 0-based character offset). The API layer turns it
into a 422 problem carrying all four.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    """Where in an expression's source text a fault lies."""

    line: int  # 1-based
    column: int  # 1-based
    offset: int  # 0-based character offset into the expression

    @staticmethod
    def at_offset(text: str, offset: int) -> Position:
        offset = max(0, min(offset, len(text)))
        before = text[:offset]
        line = before.count("\n") + 1
        column = offset - (before.rfind("\n") + 1) + 1
        return Position(line=line, column=column, offset=offset)

    @staticmethod
    def at_line_column(text: str, line: int, column: int) -> Position:
        lines = text.split("\n")
        line = max(1, min(line, len(lines)))
        offset = sum(len(row) + 1 for row in lines[: line - 1]) + max(column, 1) - 1
        return Position(line=line, column=max(column, 1), offset=min(offset, len(text)))

    def as_dict(self) -> dict[str, int]:
        return {"line": self.line, "column": self.column, "offset": self.offset}


class PolicyError(ValueError):
    """A policy refused: which field, why (en and zh), and where in the expression if it is one."""

    def __init__(self, field: str, message: str, message_zh: str, position: Position | None = None) -> None:
        where = f" (line {position.line}, column {position.column})" if position else ""
        super().__init__(f"{field}: {message}{where}")
        self.field = field
        self.message = message
        self.message_zh = message_zh
        self.position = position

    def __repr__(self) -> str:
        return (f"PolicyError(field={self.field!r}, message={self.message!r}, message_zh={self.message_zh!r}, "
                f"position={self.position!r})")

    def as_dict(self) -> dict[str, object]:
        return {"field": self.field, "message": self.message, "message_zh": self.message_zh,
                "position": self.position.as_dict() if self.position else None}


class ExpressionError(ValueError):
    """A fault in one expression, before it is known which policy field holds it."""

    def __init__(self, message: str, message_zh: str, position: Position | None) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh
        self.position = position

    def in_field(self, field: str) -> PolicyError:
        return PolicyError(field, self.message, self.message_zh, self.position)


class BatchUnsupported(ExpressionError):
    """An expression that is valid CEL but outside the subset the SQL compiler handles."""
