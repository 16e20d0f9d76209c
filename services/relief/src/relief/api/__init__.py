"""HTTP views of the relief. Each module holds one resource's router."""

from fastapi import APIRouter

routers: list[APIRouter] = []
