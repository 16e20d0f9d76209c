"""Tencent Cloud SMS API 3.0 (sms 2021-01-11): SendSms, POST JSON, TC3-HMAC-SHA256 Authorization
checked against the configured SecretId/SecretKey. Up to 200 numbers per call."""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simulators.common import utcnow
from simulators.sms.gateway import Gateway, Message, e164
from simulators.sms.signing import tc3_canonical_request, tc3_signature

router = APIRouter(prefix="/tencent")
VERSION = "2021-01-11"
SERVICE = "sms"
MAX_NUMBERS = 200
AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)/tc3_request, "
    r"SignedHeaders=(?P<headers>[a-z0-9;\-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def error(code: str, message: str) -> JSONResponse:
    """Tencent Cloud answers errors with HTTP 200 and Response.Error."""
    return JSONResponse({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}})


@router.post("", include_in_schema=False)
@router.post("/", operation_id="tencent-api")
async def api(request: Request) -> JSONResponse:
    gateway: Gateway = request.app.state.gateway
    payload = await request.body()
    refused = check_authorization(gateway, request, payload)
    if refused:
        gateway.stats["tencent_auth_refused"] += 1
        return refused
    if gateway.faults.latency_ms:
        await asyncio.sleep(gateway.faults.latency_ms / 1000)
    action, version = request.headers.get("x-tc-action"), request.headers.get("x-tc-version")
    if action != "SendSms":
        return error("InvalidAction", f"The action {action} is not supported by the simulator.")
    if version != VERSION:
        return error("NoSuchVersion", f"The version {version} does not exist.")
    try:
        body = json.loads(payload)
    except ValueError:
        return error("FailedOperation.FailResolvePacket", "The request body is not JSON.")
    return send_sms(gateway, body)


def check_authorization(gateway: Gateway, request: Request, payload: bytes) -> JSONResponse | None:
    settings = gateway.settings
    match = AUTHORIZATION.match(request.headers.get("authorization", ""))
    if not match:
        return error("AuthFailure.InvalidAuthorization", "Authorization in the request header is invalid.")
    if match["id"] != settings.tencent_secret_id:
        return error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    try:
        timestamp = int(request.headers.get("x-tc-timestamp", ""))
    except ValueError:
        return error("MissingParameter", "X-TC-Timestamp is missing.")
    if abs(time.time() - timestamp) > gateway.faults.max_clock_skew_s:
        return error("AuthFailure.SignatureExpire", "Signature expired.")
    signed = match["headers"].split(";")
    if "content-type" not in signed or "host" not in signed:
        return error("AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host.")
    canonical = tc3_canonical_request(
        request.method, request.url.path, request.url.query, request.headers, signed, payload
    )
    scope, expected = tc3_signature(settings.tencent_secret_key, match["service"], timestamp, canonical)
    if scope != f"{match['day']}/{match['service']}/tc3_request" or not hmac.compare_digest(
        expected, match["signature"]
    ):
        return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
    if match["service"] != SERVICE:
        return error("AuthFailure.InvalidAuthorization", f"Credential scope must name the {SERVICE} service.")
    return None


def send_sms(gateway: Gateway, body: dict[str, Any]) -> JSONResponse:
    numbers = body.get("PhoneNumberSet") or []
    if not isinstance(numbers, list) or not numbers:
        return error("MissingParameter", "PhoneNumberSet is required.")
    if len(numbers) > MAX_NUMBERS:
        return error("LimitExceeded.PhoneNumberCountLimit", f"At most {MAX_NUMBERS} numbers per request.")
    if str(body.get("SmsSdkAppId")) != gateway.settings.tencent_sdk_app_id:
        return error("InvalidParameterValue.SdkAppIdNotExist", "The SdkAppId does not exist.")
    if not body.get("TemplateId"):
        return error("MissingParameter", "TemplateId is required.")
    if not body.get("SignName"):
        return error("FailedOperation.SignatureIncorrectOrUnapproved", "The signature is missing or not approved.")
    if not gateway.admit("tencent", len(numbers)):
        return error("RequestLimitExceeded", "Your request frequency exceeds the limit.")
    context = str(body.get("SessionContext") or "")
    now = utcnow()
    statuses = [_one(gateway, str(number), body, context, now) for number in numbers]
    return JSONResponse({"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}})


def _one(gateway: Gateway, number: str, body: dict[str, Any], context: str, now) -> dict[str, Any]:  # noqa: ANN001
    phone = e164(number)
    status = {"SerialNo": "", "PhoneNumber": phone or number, "Fee": 0, "SessionContext": context, "IsoCode": "CN"}
    if phone is None:
        return {**status, "Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "incorrect phone number"}
    refusal = gateway.refusal(phone, f"tencent:{phone}:{context}:{body.get('TemplateId')}")
    if refusal == "blocked":
        return {**status, "Code": "FailedOperation.PhoneNumberInBlacklist", "Message": "number in blacklist"}
    if refusal:
        gateway.stats["tencent_refused_system"] += 1
        return {**status, "Code": "InternalError.Timeout", "Message": "request timed out at the carrier"}
    serial = gateway.next_id("tencent")
    params = [str(p) for p in body.get("TemplateParamSet") or []]
    gateway.accept(
        Message("tencent", serial, context or None, phone, str(body["SignName"]), str(body["TemplateId"]), params, now)
    )
    return {**status, "SerialNo": serial, "Fee": 1, "Code": "Ok", "Message": "send success"}
