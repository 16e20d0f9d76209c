"""Domain errors → problem+json."""

from fastapi import Request
from fastapi.responses import JSONResponse

from carekit.http.problems import FieldError, ProblemError, problem_response
from notifications.adapters.sms.common import CallbackInvalid
from notifications.domain.errors import TemplateInvalid
from notifications.domain.webhooks import UnknownEventTypes, UnsafeUrl


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


async def unknown_event_types(request: Request, exc: UnknownEventTypes) -> JSONResponse:
    problem = ProblemError(422, "validation-error", "Invalid request", str(exc), "请求数据无效", exc.message_zh)
    field = FieldError(field="event_types", message=str(exc), message_zh=exc.message_zh)
    return problem_response(request, problem, [field])


async def callback_invalid(request: Request, exc: CallbackInvalid) -> JSONResponse:
    """A provider callback off its format: the fields named, the body (phone numbers) never quoted."""
    fields = ", ".join(dict.fromkeys(field for field, _ in exc.errors))
    problem = ProblemError(
        422,
        "validation-error",
        "Invalid callback",
        f"The callback does not follow the provider's format; correct these fields: {fields}.",
        "回调格式不正确",
        f"回调内容不符合服务商格式，请更正以下字段：{fields}。",
    )
    errors = [FieldError(field=f, message=m, message_zh="不符合服务商的回调格式") for f, m in exc.errors]
    return problem_response(request, problem, errors)


HANDLERS = {
    TemplateInvalid: template_invalid,
    UnsafeUrl: unsafe_url,
    UnknownEventTypes: unknown_event_types,
    CallbackInvalid: callback_invalid,
}
