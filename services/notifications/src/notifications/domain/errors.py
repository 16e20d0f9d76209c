"""Domain errors of the notifications service."""


class TemplateInvalid(Exception):
    """Field problems as (field, message, message_zh); the unknown placeholder names on their own."""

    def __init__(self, problems: list[tuple[str, str, str]], unknown_placeholders: list[str] | None = None) -> None:
        super().__init__("; ".join(p[1] for p in problems))
        self.problems = problems
        self.unknown_placeholders = unknown_placeholders or []
