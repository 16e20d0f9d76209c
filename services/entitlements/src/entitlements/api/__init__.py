"""HTTP views of the entitlements. Each module holds one resource's router."""

from fastapi import APIRouter

from entitlements.api import appeals, cycles, entitlements, facts, policies, simulations

routers: list[APIRouter] = [facts.router, entitlements.router, policies.router, cycles.router,
                             simulations.router, appeals.router]
