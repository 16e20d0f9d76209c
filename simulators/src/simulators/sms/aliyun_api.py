"""Alibaba Cloud SMS (dysmsapi 2017-05-25), RPC style: SendSms and SendBatchSms, GET or POST form,
signature v1 (HMAC-SHA1) checked against the configured AccessKey."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simulators.common import utcnow
from simulators.sms.gateway import Gateway, Message, e164
from simulators.sms.signing import aliyun_signature

router = APIRouter(prefix="/aliyun")
VERSION = "2017-05-25"
MAX_SEND_SMS = 1000
MAX_BATCH = 100


def answer(code: str, message: str, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"Code": code, "Message": message, "RequestId": str(uuid.uuid4()).upper(), **extra}, status_code=status
    )


@router.api_route("", methods=["GET", "POST"], include_in_schema=False)
@router.api_route("/", methods=["GET", "POST"], operation_id="aliyun-rpc")
async def rpc(request: Request) -> JSONResponse:
    gateway: Gateway = request.app.state.gateway
    params = dict(request.query_params)
    if request.method == "POST":
        params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    refused = check_signature(gateway, request.method, params)
    if refused:
        gateway.stats["aliyun_auth_refused"] += 1
        return refused
    if gateway.faults.latency_ms:
        await asyncio.sleep(gateway.faults.latency_ms / 1000)
    action = params.get("Action")
    if action == "SendSms":
        return send_sms(gateway, params)
    if action == "SendBatchSms":
        return send_batch_sms(gateway, params)
    return answer("InvalidAction.NotFound", f"Specified api is not found: {action}", 404)


def check_signature(gateway: Gateway, method: str, params: dict[str, str]) -> JSONResponse | None:
    settings = gateway.settings
    for name in ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp", "Action", "Version"):
        if not params.get(name):
            return answer("MissingParameter", f"The input parameter “{name}” that is mandatory is not supplied.", 400)
    if params["AccessKeyId"] != settings.aliyun_access_key_id:
        return answer("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
    if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
        return answer("InvalidParameter", "Only SignatureMethod HMAC-SHA1 and SignatureVersion 1.0 are supported.", 400)
    given = params.pop("Signature")
    if aliyun_signature(method, params, settings.aliyun_access_key_secret) != given:
        return answer("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", 400)
    try:
        stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return answer("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.", 400)
    if abs((utcnow() - stamp).total_seconds()) > gateway.faults.max_clock_skew_s:
        return answer("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", 400)
    if not gateway.fresh_nonce("aliyun:" + params["SignatureNonce"]):
        return answer("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
    if params["Version"] != VERSION:
        return answer("InvalidVersion", f"Specified parameter Version is not valid: {params['Version']}", 400)
    return None


def send_sms(gateway: Gateway, params: dict[str, str]) -> JSONResponse:
    numbers = [n for n in params.get("PhoneNumbers", "").split(",") if n]
    try:
        template_param = json.loads(params.get("TemplateParam") or "{}")
    except ValueError:
        return answer("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值", 200)
    entries = [(n, params.get("SignName", ""), template_param) for n in numbers]
    return _send(gateway, params, entries, MAX_SEND_SMS)


def send_batch_sms(gateway: Gateway, params: dict[str, str]) -> JSONResponse:
    try:
        numbers = json.loads(params.get("PhoneNumberJson") or "[]")
        signs = json.loads(params.get("SignNameJson") or "[]")
        template_params = json.loads(params.get("TemplateParamJson") or "[]") or [{}] * len(numbers)
    except ValueError:
        return answer("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值", 200)
    if not (len(numbers) == len(signs) == len(template_params)):
        return answer("isv.INVALID_PARAMETERS", "PhoneNumberJson, SignNameJson and TemplateParamJson differ in length")
    return _send(gateway, params, list(zip(numbers, signs, template_params, strict=True)), MAX_BATCH)


def _send(gateway: Gateway, params: dict[str, str], entries: list, limit: int) -> JSONResponse:
    if not entries:
        return answer("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
    if len(entries) > limit:
        return answer("isv.MOBILE_COUNT_OVER_LIMIT", f"手机号码数量超过限制（{limit}）")
    phones = [e164(str(number)) for number, _, _ in entries]
    if None in phones:
        return answer("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
    if not params.get("TemplateCode"):
        return answer("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
    if not all(sign for _, sign, _ in entries):
        return answer("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
    if not gateway.admit("aliyun", len(entries)):
        return answer("Throttling.User", "Request was denied due to user flow control.", 400)
    out_id = params.get("OutId") or None
    for phone in phones:
        refusal = gateway.refusal(phone, f"aliyun:{phone}:{out_id or params['SignatureNonce']}")
        if refusal:
            gateway.stats[f"aliyun_refused_{refusal}"] += 1
            if refusal == "blocked":
                return answer("isv.BLACK_KEY_CONTROL_LIMIT", "黑名单管控")
            return answer("isp.SYSTEM_ERROR", "系统错误，请重试")
    biz_id = gateway.next_id("aliyun")
    now = utcnow()
    for phone, (_, sign, template_param) in zip(phones, entries, strict=True):
        gateway.accept(Message("aliyun", biz_id, out_id, phone, sign, params["TemplateCode"], template_param, now))
    return answer("OK", "OK", BizId=biz_id)
