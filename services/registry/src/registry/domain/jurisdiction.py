"""Who may see which families in the registry: one rule, applied to every read, list and write.

- caseworker, admin, auditor: the households registered in, or living in (migrants, 同服务), the region
  of their token (a division-code prefix); nothing without a region.
- service: the same; a service token that names no region (services call each other with such
  tokens) reaches every region.
- A token's region bounds every role it holds: `service` together with a region is that region only.
- citizen: no region at all, whatever the token says; only their own person (token `sub` = their
  person id) and the household they are registered in.
- partner agencies do not read the registry; their reports are matched against their registered remit
  (`registry.service.partner_events`).
The region is always the token's, and the division code always the stored record's: nothing a client
sends in a request decides who sees what.
"""

import uuid

from carekit.auth.principal import Principal, Role

AREA_ROLES = (Role.CASEWORKER, Role.ADMIN, Role.AUDITOR, Role.SERVICE)
EVERYWHERE = ""


def area_of(principal: Principal) -> str | None:
    """The division-code prefix the caller sees (`Principal.area`: `EVERYWHERE` (""), a prefix, or None),
    for the roles that see families by area."""
    return principal.area if principal.has_any(*AREA_ROLES) else None


def covers(principal: Principal, division_code: str | None) -> bool:
    """True if a record at `division_code` lies inside the caller's area."""
    return area_of(principal) is not None and division_code is not None and principal.covers(division_code)


def covers_household(principal: Principal, division_code: str, residence_division_code: str | None) -> bool:
    """Households registered in the caller's area, and migrants living there (同服务)."""
    return covers(principal, division_code) or covers(principal, residence_division_code)


def citizen_person_id(principal: Principal) -> uuid.UUID | None:
    """The person a citizen caller is (token `sub`), or None for anyone else."""
    if not principal.has_any(Role.CITIZEN):
        return None
    try:
        return uuid.UUID(principal.sub)
    except ValueError:
        return None
