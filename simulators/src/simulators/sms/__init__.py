"""SMS gateway simulator speaking Alibaba Cloud SMS (RPC, signature v1) and Tencent Cloud SMS
(API 3.0, TC3-HMAC-SHA256), with receipts and inbound replies pushed in each provider's format."""
