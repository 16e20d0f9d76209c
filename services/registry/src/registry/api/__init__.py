"""HTTP views of the registry. Each module holds one resource's router."""

from fastapi import APIRouter

from registry.api import audit, households, partner_events, partners, persons, review_items
from registry.api import duplicates, identifiers, imports, outreach, search, stats

routers: list[APIRouter] = [households.router, persons.router, audit.router, partners.router, partner_events.router,
                            review_items.router]
routers += [identifiers.router, outreach.router, search.router, duplicates.router, stats.router, imports.router]
