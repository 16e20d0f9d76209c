"""HTTP views of the relief. Each module holds one resource's router."""

from fastapi import APIRouter

from relief.api import applications, batches, callbacks, funds, ledger, reconciliations, reports

routers: list[APIRouter] = [
    ledger.router,
    funds.router,
    applications.router,
    batches.router,
    callbacks.router,
    reconciliations.router,
    reports.router,
]
