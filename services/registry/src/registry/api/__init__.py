"""HTTP views of the registry. Each module holds one resource's router."""

from fastapi import APIRouter

routers: list[APIRouter] = []
