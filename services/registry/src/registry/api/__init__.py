"""HTTP views of the registry. Each module holds one resource's router."""

from fastapi import APIRouter

from registry.api import audit, households, persons

routers: list[APIRouter] = [households.router, persons.router, audit.router]
