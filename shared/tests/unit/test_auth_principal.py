"""Jurisdiction: a caller's region is a prefix of the division codes they may see."""

import pytest

from carekit.auth.principal import OutsideJurisdiction, Principal, Role, ensure_in_jurisdiction


def caseworker(region: str | None) -> Principal:
    return Principal(sub="cw", roles=frozenset({Role.CASEWORKER}), region=region)


@pytest.mark.parametrize(("region", "code", "inside"), [
    ("360702", "360702001001", True),
    ("36", "360703001001", True),
    ("360702001001", "360702001001", True),
    ("360702", "360703001001", False),
    ("360702", "36070", False),
    (None, "360702001001", False),
    ("", "360702001001", False),
])
def test_covers_by_prefix(region, code, inside) -> None:
    assert caseworker(region).covers(code) is inside


def test_service_principal_covers_everything() -> None:
    service = Principal(sub="service:x", roles=frozenset({Role.SERVICE}))
    assert service.is_service
    assert service.covers("110101001001")


def test_a_region_bounds_every_role_of_a_token_service_included() -> None:
    everything = Principal(sub="x", roles=frozenset(Role), region="360703")
    assert everything.covers("360703001001")
    assert not everything.covers("360702001001")


def test_ensure_in_jurisdiction_raises_outside() -> None:
    ensure_in_jurisdiction(caseworker("3607"), "360702001001")
    with pytest.raises(OutsideJurisdiction):
        ensure_in_jurisdiction(caseworker("3607"), "110101001001")


def test_has_any() -> None:
    p = Principal(sub="x", roles=frozenset({"auditor", "citizen"}))
    assert p.has_any("caseworker", "auditor")
    assert not p.has_any("caseworker", "admin")
    assert not p.has_any()
