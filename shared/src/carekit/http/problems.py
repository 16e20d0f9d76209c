"""RFC 9457 problem details for every 4xx/5xx, in English and Chinese.

`type` is a stable URN per kind of problem (`urn:guanhuai:problem:<slug>`); `detail` says what the
caller can do about it; `title_zh`/`detail_zh` carry the same for people who read Chinese.
"""

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import get_route_path

from carekit.http.routes import methods_at
from carekit.logging import get_logger

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:guanhuai:problem:"
log = get_logger(__name__)


class FieldError(BaseModel):
    field: str
    message: str
    message_zh: str


class Problem(BaseModel):
    """The problem+json body, documented in every service's OpenAPI."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    title_zh: str | None = None
    detail_zh: str | None = None
    errors: list[FieldError] | None = None


@dataclass
class ProblemError(Exception):
    status: int
    slug: str
    title: str
    detail: str
    title_zh: str = ""
    detail_zh: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.slug}: {self.detail}"


def not_found(what: str = "resource", what_zh: str = "资源") -> ProblemError:
    return ProblemError(
        404, "not-found", "Not found", f"No {what} with this id exists or you may not see it.",
        "未找到", f"该{what_zh}不存在，或您无权查看。",
    )


def unauthorized(detail: str, detail_zh: str) -> ProblemError:
    return ProblemError(
        401, "unauthorized", "Unauthorized", detail, "未认证", detail_zh,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def forbidden(detail: str, detail_zh: str) -> ProblemError:
    return ProblemError(403, "forbidden", "Forbidden", detail, "无权操作", detail_zh)


def conflict(slug: str, detail: str, detail_zh: str, **extensions: Any) -> ProblemError:
    return ProblemError(409, slug, "Conflict", detail, "冲突", detail_zh, extensions=extensions)


def problem_response(
    request: Request, error: ProblemError, errors: list[FieldError] | None = None
) -> JSONResponse:
    members = dict(
        type=TYPE_PREFIX + error.slug,
        title=error.title,
        status=error.status,
        detail=error.detail,
        instance=str(request.url.path),
        title_zh=error.title_zh or None,
        detail_zh=error.detail_zh or None,
        errors=errors,
    )
    # An extension named like a standard member (e.g. `status=` of a conflicting record) must not
    # break the response or change its meaning: the standard member wins.
    body = Problem(**{**error.extensions, **members})
    request_id = getattr(request.state, "request_id", None)
    content = body.model_dump(mode="json", exclude_none=True)
    if request_id:
        content["request_id"] = request_id
    return JSONResponse(content, status_code=error.status, media_type=PROBLEM_JSON, headers=error.headers)


_ZH_BY_ERROR_TYPE = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "string_type": "应为文本",
    "string_too_short": "文本太短",
    "string_too_long": "文本太长",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为布尔值",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than": "数值太大",
    "less_than_equal": "数值太大",
    "date_parsing": "日期格式无效，应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式无效，应为 YYYY-MM-DD",
    "datetime_parsing": "时间格式无效",
    "uuid_parsing": "应为 UUID",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "json_invalid": "JSON 格式错误",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为数组",
}


# Python's JSON parser's messages, for people who read Chinese.
_ZH_BY_JSON_MESSAGE = {
    "Expecting value": "此处应为一个值",
    "Expecting ',' delimiter": "缺少逗号分隔符",
    "Expecting ':' delimiter": "缺少冒号分隔符",
    "Expecting property name enclosed in double quotes": "字段名应使用双引号",
    "Unterminated string starting at": "字符串没有结束引号",
    "Invalid control character at": "字符串中含有未转义的控制字符",
    "Invalid \\escape": "无效的转义序列",
    "Invalid \\uXXXX escape": "无效的 \\uXXXX 转义序列",
    "Extra data": "JSON 结束后还有多余内容",
}


def _json_syntax_error(exc: RequestValidationError) -> tuple[ProblemError, FieldError] | None:
    """The body's JSON syntax error with its line and column (FastAPI gives a character offset as the
    field, `body.18`, which reads as a field name)."""
    err = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
    if err is None:
        return None
    loc = err.get("loc", ())
    pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
    doc = exc.body if isinstance(exc.body, str) else ""
    line, column = doc.count("\n", 0, pos) + 1, pos - doc.rfind("\n", 0, pos)
    reason = str(err.get("ctx", {}).get("error") or "syntax error")
    reason_zh = next((zh for en, zh in _ZH_BY_JSON_MESSAGE.items() if reason.startswith(en)), "语法错误")
    where, where_zh = f"at line {line}, column {column}: {reason}", f"第 {line} 行第 {column} 列，{reason_zh}"
    problem = ProblemError(
        422, "invalid-json", "Invalid JSON",
        f"The request body is not valid JSON ({where}). Correct it and send the request again.",
        "JSON 格式错误", f"请求体不是有效的 JSON（{where_zh}）。请更正后重新提交。",
    )
    return problem, FieldError(field="body", message=f"Invalid JSON {where}", message_zh=f"JSON 格式错误：{where_zh}")


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err.get("loc", ()))
        message = str(err.get("msg", "invalid value"))
        zh = _ZH_BY_ERROR_TYPE.get(str(err.get("type")), "取值无效")
        if err.get("type") in ("value_error", "assertion_error") and err.get("ctx", {}).get("error"):
            custom = err["ctx"]["error"]
            message = str(custom)
            zh = getattr(custom, "message_zh", zh)
        errors.append(FieldError(field=loc, message=message, message_zh=zh))
    return errors


_TITLES = {
    400: ("Bad request", "请求无效", "bad-request"),
    401: ("Unauthorized", "未认证", "unauthorized"),
    403: ("Forbidden", "无权操作", "forbidden"),
    404: ("Not found", "未找到", "not-found"),
    405: ("Method not allowed", "不支持该方法", "method-not-allowed"),
    406: ("Not acceptable", "无法提供请求的格式", "not-acceptable"),
    409: ("Conflict", "冲突", "conflict"),
    413: ("Payload too large", "请求体过大", "payload-too-large"),
    415: ("Unsupported media type", "不支持的内容类型", "unsupported-media-type"),
    429: ("Too many requests", "请求过于频繁", "rate-limited"),
}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        syntax = _json_syntax_error(exc)
        if syntax is not None:
            return problem_response(request, syntax[0], [syntax[1]])
        errors = _field_errors(exc)
        fields = ", ".join(e.field for e in errors)
        error = ProblemError(
            422, "validation-error", "Invalid request",
            f"Some fields are missing or invalid: {fields}. Correct them and send the request again.",
            "请求数据无效", f"以下字段缺失或无效：{fields}。请更正后重新提交。",
        )
        return problem_response(request, error, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title, title_zh, slug = _TITLES.get(exc.status_code, ("Error", "错误", f"http-{exc.status_code}"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first route it met; FastAPI makes a route per method.
            headers["Allow"] = ", ".join(methods_at(request.app, get_route_path(request.scope)))
        error = ProblemError(exc.status_code, slug, title, detail, title_zh, title_zh, headers=headers)
        return problem_response(request, error)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=str(request.url.path))
        error = ProblemError(
            500, "internal-error", "Internal error",
            "Something went wrong on our side and nothing was changed. Try again; if it persists, "
            "give the request_id to support.",
            "服务器内部错误", "服务器出错，本次请求未做任何更改。请重试；如仍失败，请将 request_id 提供给技术支持。",
        )
        return problem_response(request, error)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": title}
    for status, title in (
        (400, "Bad request"),
        (401, "Missing, expired or invalid token"),
        (403, "Not allowed for your role"),
        (404, "Not found"),
        (409, "Conflict"),
        (422, "Invalid request"),
    )
}
