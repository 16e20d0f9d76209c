"""Statistics: households by category, persons by age band, births and the sex ratio; small cells suppressed.

Each test counts its own township, so that the families other tests add to the shared database do not
change its figures."""

from registry_support import COUNTY, Family

from registry.api.deps import today as china_today

STATS = "/v1/stats"
BUSY_TOWNSHIP, BUSY_VILLAGE = "360702001", "360702001001"
QUIET_TOWNSHIP, QUIET_VILLAGE = "360702100", "360702100201"


def _value(cell: dict) -> int | float | None:
    assert cell["suppressed"] is (cell["value"] is None)
    return cell["value"]


async def _family(registry, headers: dict, village: str, child_sex: str, child_born: str) -> Family:  # noqa: ANN001
    fam = Family(registry, headers)
    await fam.household(division_code=village)
    await fam.person("father", name="刘强", relation="head", sex="male", birth_date="1990-01-01")
    await fam.person("mother", name="何静", relation="spouse", sex="female", birth_date="1992-02-02")
    await fam.person("child", name="刘一", relation="child", mother_id="mother", father_id="father",
                     sex=child_sex, birth_date=child_born)
    return fam


async def test_a_township_for_a_past_year(registry, caseworker) -> None:  # noqa: ANN001
    for n in range(6):
        await _family(registry, caseworker, BUSY_VILLAGE, "male", f"2024-0{n + 1}-15")
    for n in range(5):
        await _family(registry, caseworker, BUSY_VILLAGE, "female", f"2024-0{n + 1}-20")
    answer = await registry.get(STATS, params={"region": BUSY_TOWNSHIP, "year": 2024}, headers=caseworker)
    assert answer.status_code == 200, answer.text
    stats = answer.json()
    assert (stats["region"], stats["year"], stats["as_of"]) == (BUSY_TOWNSHIP, 2024, "2024-12-31")
    assert stats["suppression_threshold"] == 5

    households = stats["households"]
    assert _value(households["total"]) == 11
    categories = {key: _value(cell) for key, cell in households["by_category"].items()}
    assert categories == {"only_child": 11, "single_daughter": 5, "two_daughters": None, "bereaved": None,
                          "disabled_only_child": None, "migrant": None, "low_income": None,
                          "certificate_held": None}

    bands = {band["band"]: _value(band["count"]) for band in stats["persons"]["by_age_band"]}
    assert bands == {"0-2": 11, "3-5": None, "6-17": None, "18-59": 22, "60+": None}
    assert _value(stats["persons"]["total"]) is None  # else 33 - 11 - 22 gives the suppressed bands away
    assert stats["persons"]["by_age_band"][4] == {"band": "60+", "min_age": 60, "max_age": None,
                                                  "count": {"value": None, "suppressed": True}}

    births = stats["births"]
    assert (_value(births["boys"]), _value(births["girls"]), _value(births["total"])) == (6, 5, 11)
    assert births["sex_ratio"] == {"value": 120.0, "suppressed": False}

    earlier = (await registry.get(STATS, params={"region": BUSY_TOWNSHIP, "year": 2023},
                                  headers=caseworker)).json()
    assert earlier["births"]["sex_ratio"] == {"value": None, "suppressed": True}
    assert _value(earlier["births"]["boys"]) is None and _value(earlier["births"]["total"]) is None
    # The children were not born yet at the end of 2023: the parents alone are counted.
    assert {b["band"]: _value(b["count"]) for b in earlier["persons"]["by_age_band"]}["0-2"] is None
    assert _value(earlier["persons"]["total"]) is None

    county = (await registry.get(STATS, params={"region": "360702000000", "year": 2024},
                                 headers=caseworker)).json()
    assert county["region"] == COUNTY and _value(county["households"]["total"]) >= 11


async def test_a_small_region_shows_nothing_identifying(registry, caseworker) -> None:  # noqa: ANN001
    fam = await _family(registry, caseworker, QUIET_VILLAGE, "female", "2000-05-05")
    await fam.event("child", kind="death", effective_date="2021-03-03")
    today = china_today()
    stats = (await registry.get(STATS, params={"region": QUIET_TOWNSHIP}, headers=caseworker)).json()
    assert stats["year"] == today.year and stats["as_of"] == today.isoformat()
    cells = [stats["households"]["total"], *stats["households"]["by_category"].values(),
             stats["persons"]["total"],
             *(b["count"] for b in stats["persons"]["by_age_band"]), stats["births"]["total"],
             stats["births"]["boys"], stats["births"]["girls"], stats["births"]["sex_ratio"]]
    assert all(cell == {"value": None, "suppressed": True} for cell in cells)


async def test_region_year_and_role_rules(registry, tokens) -> None:  # noqa: ANN001
    township = tokens.headers(roles=["caseworker"], region=BUSY_TOWNSHIP, sub="cw-town")
    own = await registry.get(STATS, headers=township)
    assert own.status_code == 200 and own.json()["region"] == BUSY_TOWNSHIP  # default: the caller's region
    outside = await registry.get(STATS, params={"region": COUNTY}, headers=township)  # wider than theirs
    assert outside.status_code == 404 and outside.json()["type"] == "urn:guanhuai:problem:not-found"
    other = await registry.get(STATS, params={"region": "360703"}, headers=township)
    assert other.status_code == 404
    for params, field in (({"region": "36070"}, "query.region"), ({"region": "360799"}, "region"),
                          ({"year": china_today().year + 1}, "year"), ({"year": 1800}, "query.year")):
        answer = await registry.get(STATS, params=params, headers=township)
        assert answer.status_code == 422, params
        assert answer.json()["errors"][0]["field"] == field
    auditor = tokens.headers(roles=["auditor"], region=COUNTY, sub="aud")
    assert (await registry.get(STATS, params={"region": BUSY_TOWNSHIP}, headers=auditor)).status_code == 200
    admin = tokens.headers(roles=["admin"], region="36", sub="adm")
    assert (await registry.get(STATS, params={"region": COUNTY}, headers=admin)).status_code == 200
    for roles in (["citizen"], ["partner"], ["service"]):
        headers = tokens.headers(roles=roles, region=COUNTY, sub="x", agency="a")
        assert (await registry.get(STATS, headers=headers)).status_code == 403
