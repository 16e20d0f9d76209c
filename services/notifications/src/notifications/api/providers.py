"""Provider callbacks: delivery receipts and inbound replies, in each provider's own format.

Each provider has its own paths, so that the OpenAPI document describes the body it really takes (one
item, or an array of them). The body is parsed by the provider's adapter (contract C5): a body that does
not follow the format is answered 422 naming the fields. Callbacks matching no message are recorded and
counted, and still answered with success so the provider does not retry them forever.
"""

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, not_found, unauthorized
from notifications.adapters.sms import aliyun, tencent
from notifications.adapters.sms.base import SmsProvider
from notifications.adapters.sms.common import body_schema
from notifications.api.deps import SettingsDep, VaultDep
from notifications.service.callbacks import CallbackTally, apply_inbound, apply_receipts

router = APIRouter(prefix="/v1/providers", tags=["providers"], responses=PROBLEM_RESPONSES)


class CallbackAnswer(BaseModel):
    """Both providers' success shapes at once: Aliyun reads code/msg, Tencent result/errmsg."""

    code: int = 0
    msg: str = "成功"
    result: int = 0
    errmsg: str = "OK"
    matched: int
    rejected: int


async def check_token(request: Request, settings: SettingsDep) -> None:
    """The callback URL's `?token=` (when one is configured): checked before the body is read."""
    expected = settings.provider_callback_token
    given = request.query_params.get("token", "")
    if expected is not None and not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise unauthorized("The callback URL's token is missing or wrong.", "回调地址中的令牌缺失或错误。")


Token = Annotated[None, Depends(check_token)]


def _provider(request: Request, name: str) -> SmsProvider:
    provider = request.app.state.workers.providers.get(name)
    if provider is None:
        raise not_found("provider", "短信服务商")
    return provider


def _answer(tally: CallbackTally) -> CallbackAnswer:
    return CallbackAnswer(matched=tally.matched, rejected=tally.rejected)


async def _receipts(name: str, request: Request, uow: UowDep, vault: VaultDep, _: SettingsDep) -> CallbackAnswer:
    adapter = _provider(request, name)
    receipts = adapter.parse_receipts(await request.body())  # off the format: CallbackInvalid, 422 (api/errors.py)
    tally = await apply_receipts(uow, vault, name, receipts)
    await uow.commit()
    return _answer(tally)


async def _inbound(name: str, request: Request, uow: UowDep, vault: VaultDep, settings: SettingsDep) -> CallbackAnswer:
    adapter = _provider(request, name)
    texts = adapter.parse_inbound(await request.body())
    tally = await apply_inbound(uow, vault, name, texts, settings.survey_reply_days)
    await uow.commit()
    return _answer(tally)


Apply = Callable[[str, Request, UowDep, VaultDep, SettingsDep], Awaitable[CallbackAnswer]]


def _callback(name: str, kind: str, item: type[BaseModel], summary: str, apply: Apply) -> None:
    """`POST /v1/providers/{name}/{kind}`, its body documented as the provider's format (`item`, or an array)."""

    async def callback(
        _: Token, request: Request, uow: UowDep, vault: VaultDep, settings: SettingsDep
    ) -> CallbackAnswer:
        return await apply(name, request, uow, vault, settings)

    callback.__name__ = f"post_{name}_{kind}"
    body = {"required": True, "content": {"application/json": {"schema": body_schema(item)}}}
    router.add_api_route(
        f"/{name}/{kind}",
        callback,
        methods=["POST"],
        response_model=CallbackAnswer,
        summary=summary,
        openapi_extra={"requestBody": body},
    )


_callback("aliyun", "receipts", aliyun.SmsReportItem, "Delivery receipts from Alibaba Cloud (SmsReport)", _receipts)
_callback(
    "tencent", "receipts", tencent.StatusItem, "Delivery receipts from Tencent Cloud (status callback)", _receipts
)
_callback("aliyun", "inbound", aliyun.SmsUpItem, "Replies through Alibaba Cloud (SmsUp): T/TD/退订, 1–5", _inbound)
_callback(
    "tencent", "inbound", tencent.ReplyItem, "Replies through Tencent Cloud (reply callback): T/TD/退订, 1–5", _inbound
)
