"""Provider callbacks: delivery receipts and inbound replies, in each provider's own format.

The body is parsed by the provider's adapter (contract C5). Callbacks matching no message are recorded
and counted, and still answered with success so the provider does not retry them forever.
"""

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, ProblemError, not_found, unauthorized
from notifications.adapters.sms.base import SmsProvider
from notifications.api.deps import SettingsDep, VaultDep
from notifications.service.callbacks import CallbackTally, apply_inbound, apply_receipts
from notifications.settings import NotificationsSettings

router = APIRouter(prefix="/v1/providers", tags=["providers"], responses=PROBLEM_RESPONSES)
ProviderName = Annotated[Literal["aliyun", "tencent"], Path()]


class CallbackAnswer(BaseModel):
    """Both providers' success shapes at once: Aliyun reads code/msg, Tencent result/errmsg."""

    code: int = 0
    msg: str = "成功"
    result: int = 0
    errmsg: str = "OK"
    matched: int
    rejected: int


def _check_token(request: Request, settings: NotificationsSettings) -> None:
    expected = settings.provider_callback_token
    given = request.query_params.get("token", "")
    if expected is not None and not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise unauthorized("The callback URL's token is missing or wrong.", "回调地址中的令牌缺失或错误。")


def _provider(request: Request, name: str) -> SmsProvider:
    provider = request.app.state.workers.providers.get(name)
    if provider is None:
        raise not_found("provider", "短信服务商")
    return provider


def _unreadable(exc: Exception) -> ProblemError:
    return ProblemError(
        400,
        "bad-callback",
        "Unreadable callback",
        f"The body could not be read: {exc}",
        "回调无法解析",
        "回调内容格式不正确。",
    )


def _answer(tally: CallbackTally) -> CallbackAnswer:
    return CallbackAnswer(matched=tally.matched, rejected=tally.rejected)


@router.post("/{provider}/receipts", response_model=CallbackAnswer, summary="Delivery receipts from a provider")
async def post_receipts(
    provider: ProviderName, request: Request, uow: UowDep, vault: VaultDep, settings: SettingsDep
) -> CallbackAnswer:
    _check_token(request, settings)
    adapter = _provider(request, provider)
    try:
        receipts = adapter.parse_receipts(await request.body())
    except ValueError as exc:
        raise _unreadable(exc) from exc
    tally = await apply_receipts(uow, vault, provider, receipts)
    await uow.commit()
    return _answer(tally)


@router.post("/{provider}/inbound", response_model=CallbackAnswer, summary="Replies from families (T/TD/退订, 1–5)")
async def post_inbound(
    provider: ProviderName, request: Request, uow: UowDep, vault: VaultDep, settings: SettingsDep
) -> CallbackAnswer:
    _check_token(request, settings)
    adapter = _provider(request, provider)
    try:
        texts = adapter.parse_inbound(await request.body())
    except ValueError as exc:
        raise _unreadable(exc) from exc
    tally = await apply_inbound(uow, vault, provider, texts, settings.survey_reply_days)
    await uow.commit()
    return _answer(tally)
