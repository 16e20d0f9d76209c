"""HTTP views of the entitlements. Each module holds one resource's router."""

from fastapi import APIRouter

routers: list[APIRouter] = []
