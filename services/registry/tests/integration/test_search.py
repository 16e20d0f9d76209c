"""Person search: name, pinyin, ID number (blind index), certificate number; jurisdiction, masking, pages."""

from datetime import date

from registry_support import COUNTY, Family

SEARCH = "/v1/search/persons"


async def _search(client, headers: dict, **params) -> dict:  # noqa: ANN001, ANN003
    answer = await client.get(SEARCH, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _names(page: dict) -> list[str]:
    return [item["name"] for item in page["items"]]


def _ids(page: dict) -> list[str]:
    return [item["id"] for item in page["items"]]


async def _ouyang_family(family: Family) -> Family:
    await family.household()
    await family.person("father", name="欧阳明", relation="head",
                        id_number=family.id_number(date(1970, 1, 1), female=False), phone="13812345678")
    await family.person("mother", name="吕秀兰", relation="spouse", sex="female", birth_date="1972-02-02")
    await family.person("daughter", name="欧阳明月", relation="child", mother_id="mother", father_id="father",
                        sex="female", birth_date="2000-03-03")
    return family


async def test_name_exact_first_then_prefix_and_masked(family) -> None:  # noqa: ANN001
    await _ouyang_family(family)
    # Families in this module share a database: other tests add 欧阳明 families too.
    page = await _search(family.client, family.headers, name="欧阳明")
    names = _names(page)
    assert set(names) == {"欧阳明", "欧阳明月"}
    assert names == sorted(names, key=len)  # exact matches first
    by_id = {item["id"]: item for item in page["items"]}
    father, daughter = by_id[family.people["father"]], by_id[family.people["daughter"]]
    assert father["exact_name"] is True and daughter["exact_name"] is False
    number = family.id_number(date(1970, 1, 1), female=False)
    assert father["id_number"] == number[:6] + "********" + number[-4:]
    assert father["phone"] == "138****5678"
    assert daughter["id_number"] is None and daughter["phone"] is None
    assert father["household_id"] == family.household_id and father["division_code"].startswith(COUNTY)
    assert set(_names(await _search(family.client, family.headers, name="欧阳明月"))) == {"欧阳明月"}
    assert _names(await _search(family.client, family.headers, name="欧阳明%")) == []  # no wildcards


async def test_pinyin_syllables_joined_initials_and_characters(family) -> None:  # noqa: ANN001
    await _ouyang_family(family)
    father, daughter, mother = (family.people[k] for k in ("father", "daughter", "mother"))
    for query in ("ouyang ming", "OuYang  Ming", "ouyangming", "oym", "欧阳", "ou yang"):
        found = _ids(await _search(family.client, family.headers, pinyin=query))
        assert {father, daughter} <= set(found), query
    found = _ids(await _search(family.client, family.headers, pinyin="oymy"))
    assert daughter in found and father not in found
    for query in ("lü xiu", "lxl", "lvxiu", "lu:xiu", "吕秀"):
        assert mother in _ids(await _search(family.client, family.headers, pinyin=query)), query
    both = _ids(await _search(family.client, family.headers, pinyin="oym", name="欧阳明月"))
    assert daughter in both and father not in both  # every criterion given must hold
    bad = await family.client.get(SEARCH, params={"pinyin": "123"}, headers=family.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.pinyin"


async def test_id_number_exact_through_the_blind_index(family) -> None:  # noqa: ANN001
    await _ouyang_family(family)
    number = family.id_number(date(1970, 1, 1), female=False)
    page = await _search(family.client, family.headers, id_number=number.lower())
    assert [item["id"] for item in page["items"]] == [family.people["father"]]
    nobody = number[:14] + ("0002" if number[14:17] != "000" else "0012")
    from stdnum.cn import ric

    nobody = nobody[:17] + ric.calc_check_digit(nobody[:17] + "0")
    assert (await _search(family.client, family.headers, id_number=nobody))["items"] == []
    mistyped = number[:-1] + ("1" if number[-1] != "1" else "2")
    bad = await family.client.get(SEARCH, params={"id_number": mistyped}, headers=family.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "id_number"


async def test_certificate_number_finds_the_household(family) -> None:  # noqa: ANN001
    await _ouyang_family(family)
    issued = await family.client.post(f"/v1/households/{family.household_id}/events", headers=family.headers,
                                      json={"kind": "certificate_issued", "effective_date": "2001-01-01",
                                            "certificate_number": "赣章光荣证2001-0099"})
    assert issued.status_code == 201, issued.text
    page = await _search(family.client, family.headers, certificate_number="赣章光荣证2001-0099")
    assert set(_names(page)) == {"欧阳明", "吕秀兰", "欧阳明月"}
    other = await _search(family.client, family.headers, certificate_number="赣章光荣证2001-0098")
    assert other["items"] == []


async def test_only_the_callers_jurisdiction_is_searched(registry, family, tokens) -> None:  # noqa: ANN001
    await _ouyang_family(family)
    prefecture = tokens.headers(roles=["admin"], region="3607", sub="admin-pref")
    elsewhere = Family(registry, prefecture)
    await elsewhere.household(division_code="360703000000")
    await elsewhere.person("head", name="欧阳明", relation="head", sex="male", birth_date="1969-09-09")
    mine = await _search(registry, family.headers, name="欧阳明")
    assert elsewhere.people["head"] not in [item["id"] for item in mine["items"]]
    theirs = await _search(registry, tokens.headers(roles=["caseworker"], region="360703", sub="cw-ng"),
                           name="欧阳明")
    assert [item["id"] for item in theirs["items"]] == [elsewhere.people["head"]]
    both = await _search(registry, prefecture, name="欧阳明")
    assert elsewhere.people["head"] in [item["id"] for item in both["items"]]
    auditor = tokens.headers(roles=["auditor"], region=COUNTY, sub="aud")
    assert (await registry.get(SEARCH, params={"name": "欧阳明"}, headers=auditor)).status_code == 200
    for roles in (["citizen"], ["partner"]):
        headers = tokens.headers(roles=roles, region=COUNTY, agency="x")
        assert (await registry.get(SEARCH, params={"name": "欧"}, headers=headers)).status_code == 403


async def test_pages_and_a_query_is_required(registry, caseworker) -> None:  # noqa: ANN001
    fam = Family(registry, caseworker)
    await fam.household()
    for n in range(5):
        await fam.person(f"p{n}", name=f"司马{'一二三四五'[n]}", relation="head" if n == 0 else "other",
                         sex="male", birth_date=f"198{n}-01-01")
    walked, cursor = [], None
    while True:
        params = {"name": "司马", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await _search(registry, caseworker, **params)
        walked += [item["id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(walked) == sorted(fam.people.values()) and len(walked) == 5
    missing = await registry.get(SEARCH, headers=caseworker)
    assert missing.status_code == 422 and missing.headers["content-type"] == "application/problem+json"
    blank = await registry.get(SEARCH, params={"name": "  "}, headers=caseworker)
    assert blank.status_code == 422
