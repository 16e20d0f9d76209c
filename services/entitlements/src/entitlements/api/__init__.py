"""HTTP views of the entitlements. Each module holds one resource's router."""

from fastapi import APIRouter

from entitlements.api import entitlements, facts

routers: list[APIRouter] = [facts.router, entitlements.router]
