"""Request signing reproduces the providers' documented examples exactly."""

import hashlib
from urllib.parse import parse_qsl

import pytest

from notifications.adapters.sms import SmsRequest
from notifications.adapters.sms.aliyun import AliyunSms, send_sms_params
from notifications.adapters.sms.signing import (
    aliyun_percent_encode,
    aliyun_signature,
    aliyun_string_to_sign,
    tc3_authorization,
    tc3_canonical_request,
    tc3_signature,
)
from notifications.adapters.sms.tencent import TencentSms

# Alibaba Cloud "Signature mechanism" (RPC) example: ECS DescribeRegions, AccessKeySecret "testsecret".
ALIYUN_DOC_PARAMS = {
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "Format": "XML",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "SignatureVersion": "1.0",
    "Timestamp": "2016-02-23T12:46:24Z",
    "Version": "2014-05-26",
}
ALIYUN_DOC_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
    "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
    "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
)


def test_aliyun_documented_example() -> None:
    assert aliyun_string_to_sign("GET", ALIYUN_DOC_PARAMS) == ALIYUN_DOC_STRING_TO_SIGN
    assert aliyun_signature("GET", ALIYUN_DOC_PARAMS, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_documented_sendsms_example_with_chinese_sign_name() -> None:
    # The SMS product's own signing example (AccessKeySecret "testSecret").
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature("GET", params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b", "a%20b"),
        ("*", "%2A"),
        ("~-_.", "~-_."),
        ("/=&+", "%2F%3D%26%2B"),
        ("卫", "%E5%8D%AB"),
        ("'()!", "%27%28%29%21"),
    ],
)
def test_aliyun_percent_encoding_rules(raw: str, encoded: str) -> None:
    assert aliyun_percent_encode(raw) == encoded


def test_aliyun_sendsms_request_is_signed_over_every_parameter() -> None:
    provider = AliyunSms("http://sms.example/", "key-id", "key-secret")
    request = SmsRequest("m-1", "+8613812345678", "XX县卫健委", "SMS_1", {"name": "张三", "amount": "960.00"})
    params = provider.signed_params(
        send_sms_params(request, "13812345678"), nonce="n-1", timestamp="2026-11-24T02:00:00Z"
    )
    assert params["PhoneNumbers"] == "13812345678" and params["OutId"] == "m-1"
    assert params["Action"] == "SendSms" and params["Version"] == "2017-05-25" and params["Format"] == "JSON"
    assert params["TemplateParam"] == '{"name":"张三","amount":"960.00"}'
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    assert params["Signature"] == aliyun_signature("POST", unsigned, "key-secret")
    assert params["Signature"] != aliyun_signature("POST", {**unsigned, "PhoneNumbers": "13812345679"}, "key-secret")


# Tencent Cloud API 3.0 "Signature v3" example: CVM DescribeInstances at 1551113065.
TENCENT_DOC_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
TENCENT_DOC_HEADERS = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}
TENCENT_DOC_SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******"
TENCENT_DOC_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3*******"


def test_tencent_documented_example() -> None:
    canonical, signed = tc3_canonical_request("POST", "/", "", TENCENT_DOC_HEADERS, TENCENT_DOC_PAYLOAD)
    assert canonical == (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
        "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == (
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    scope, signature = tc3_signature(TENCENT_DOC_SECRET_KEY, "cvm", 1551113065, canonical)
    assert scope == "2019-02-25/cvm/tc3_request"
    assert signature == "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    assert tc3_authorization(
        TENCENT_DOC_SECRET_ID,
        TENCENT_DOC_SECRET_KEY,
        "cvm",
        1551113065,
        "POST",
        "/",
        TENCENT_DOC_HEADERS,
        TENCENT_DOC_PAYLOAD,
    ) == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )


def test_tencent_sendsms_request_headers() -> None:
    provider = TencentSms("https://sms.tencentcloudapi.com", "AKIDtest", "secret", "1400006666")
    body = {
        "PhoneNumberSet": ["+8613812345678"],
        "SmsSdkAppId": "1400006666",
        "TemplateId": "1110",
        "SignName": "XX县卫健委",
        "TemplateParamSet": ["张三"],
        "SessionContext": "m-1",
    }
    payload, headers = provider.signed_request(body, 1795478400)
    assert headers["X-TC-Action"] == "SendSms" and headers["X-TC-Version"] == "2021-01-11"
    assert headers["Host"] == "sms.tencentcloudapi.com" and headers["X-TC-Timestamp"] == "1795478400"
    assert headers["Authorization"].startswith("TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-24/sms/tc3_request, ")
    canonical, _ = tc3_canonical_request(
        "POST", "/", "", {"content-type": headers["Content-Type"], "host": headers["Host"]}, payload
    )
    assert headers["Authorization"].endswith(tc3_signature("secret", "sms", 1795478400, canonical)[1])
    assert "张三".encode() in payload  # UTF-8, not \\u escapes


def test_form_encoding_round_trips_the_signed_parameters() -> None:
    provider = AliyunSms("http://sms.example/", "key-id", "key-secret")
    request = SmsRequest("m-2", "+8613812345678", "XX县卫健委", "SMS_1", {"text": "a b&c=d+e"})
    params = provider.signed_params(
        send_sms_params(request, "13812345678"), nonce="n-2", timestamp="2026-11-24T02:00:00Z"
    )
    import httpx

    encoded = httpx.Request("POST", "http://x/", data=params).content.decode()
    assert dict(parse_qsl(encoded)) == params
