"""Payment providers: the HTTP provider (payment simulator) and the bank batch file."""

from relief.adapters.payments.base import (
    PaymentInstruction,
    PaymentProvider,
    PaymentStatus,
    ProviderRejected,
    ProviderTimeout,
    StatementLine,
)

__all__ = [
    "PaymentInstruction",
    "PaymentProvider",
    "PaymentStatus",
    "ProviderRejected",
    "ProviderTimeout",
    "StatementLine",
]
