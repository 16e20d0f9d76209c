"""HTTP views of the notifications. Each module holds one resource's router."""

from fastapi import APIRouter

routers: list[APIRouter] = []
