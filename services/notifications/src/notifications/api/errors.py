"""Domain errors → problem+json."""

from fastapi import Request
from fastapi.responses import JSONResponse

from carekit.http.problems import FieldError, ProblemError, problem_response
from notifications.domain.errors import TemplateInvalid
from notifications.domain.webhooks import UnsafeUrl


async def template_invalid(request: Request, exc: TemplateInvalid) -> JSONResponse:
    fields = ", ".join(dict.fromkeys(f for f, _, _ in exc.problems))
    problem = ProblemError(
        422,
        "validation-error",
        "Invalid template",
        f"Correct these fields: {fields}. {exc}",
        "模板无效",
        "；".join(zh for _, _, zh in exc.problems),
        extensions={"unknown_placeholders": exc.unknown_placeholders} if exc.unknown_placeholders else {},
    )
    errors = [FieldError(field=f, message=m, message_zh=zh) for f, m, zh in exc.problems]
    return problem_response(request, problem, errors)


async def unsafe_url(request: Request, exc: UnsafeUrl) -> JSONResponse:
    problem = ProblemError(422, "unsafe-url", "Webhook URL refused", str(exc), "回调地址被拒绝", exc.message_zh)
    return problem_response(request, problem, [FieldError(field="url", message=str(exc), message_zh=exc.message_zh)])


HANDLERS = {TemplateInvalid: template_invalid, UnsafeUrl: unsafe_url}
