"""Who is calling: roles and the jurisdiction (a division-code prefix) they act for. No framework here."""

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    CITIZEN = "citizen"
    CASEWORKER = "caseworker"
    ADMIN = "admin"
    APPROVER = "approver"
    FUND_MANAGER = "fund_manager"
    AUDITOR = "auditor"
    PARTNER = "partner"
    OPS = "ops"
    SERVICE = "service"


# A jurisdiction is a prefix of a 12-digit division code: province, prefecture, county, township, village.
# ASCII digits only (`\d` takes any Unicode digit) and `\Z`, as `$` lets a trailing newline through.
REGION_PATTERN = re.compile(r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})\Z")


class OutsideJurisdiction(Exception):
    """The resource is outside the caller's region; callers answer 404, never a hint that it exists."""


@dataclass(frozen=True)
class Principal:
    sub: str
    roles: frozenset[str]
    region: str | None = None
    agency: str | None = None
    token_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_service(self) -> bool:
        return Role.SERVICE in self.roles

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def area(self) -> str | None:
        """The division-code prefix this caller covers: its region, which bounds every role the token holds
        (`service` included); "" (everywhere) for a service token without a region; None: nothing."""
        if self.region:
            return self.region
        return "" if self.is_service else None

    def covers(self, division_code: str) -> bool:
        """True if a resource at `division_code` lies inside this caller's area."""
        area = self.area
        return area is not None and division_code.startswith(area)


def ensure_in_jurisdiction(principal: Principal, division_code: str) -> None:
    if not principal.covers(division_code):
        raise OutsideJurisdiction(division_code)
