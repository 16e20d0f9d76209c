"""SMS providers: Alibaba Cloud SMS and Tencent Cloud SMS."""

from notifications.adapters.sms.base import (
    DeliveryReceipt,
    InboundSms,
    SmsProvider,
    SmsRequest,
    SmsSubmitResult,
)

__all__ = ["DeliveryReceipt", "InboundSms", "SmsProvider", "SmsRequest", "SmsSubmitResult"]
