"""Partner reports: envelope and data checks, the sender's source, the newborn's relation, the spouse on a day."""

import json
from datetime import date

import pytest
from stdnum.cn import ric

from registry.domain.errors import FieldError
from registry.domain.history import LifeEvent, LifeEventKind
from registry.domain.model import Sex
from registry.domain.partner_events import (
    PartnerEventType,
    agency_of_source,
    is_json_media_type,
    parse_envelope,
    parse_report,
    peek_source,
    relation_of_newborn,
    spouse_on,
)

TODAY = date(2025, 6, 1)


def rid(birth: date, *, female: bool, serial: int = 12, region: str = "360702") -> str:
    body = f"{region}{birth:%Y%m%d}{serial * 10 + (2 if female else 1):03d}"
    return body + ric.calc_check_digit(body + "0")


MAN = rid(date(1966, 5, 1), female=False)
WOMAN = rid(date(1990, 3, 2), female=True)
BAD_CHECK = WOMAN[:-1] + ("0" if WOMAN[-1] != "0" else "1")
BABY = rid(date(2025, 1, 5), female=True, serial=3)


@pytest.mark.parametrize(("event_type", "data", "kind", "effective", "payload"), [
    (PartnerEventType.DEATH_REPORTED, {"id_number": MAN.lower(), "died_on": "2025-02-01"}, LifeEventKind.DEATH,
     date(2025, 2, 1), {}),
    (PartnerEventType.DISABILITY_ASSESSED, {"id_number": MAN, "grade": 3, "assessed_on": "2020-01-01"},
     LifeEventKind.DISABILITY_ASSESSED, date(2020, 1, 1), {"grade": 3}),
    (PartnerEventType.LOW_INCOME_CHANGED, {"id_number": WOMAN, "kind": "tekun", "in_force": False,
                                           "effective_date": "2024-12-31", "extra": "ignored"},
     LifeEventKind.LOW_INCOME_CHANGED, date(2024, 12, 31), {"low_income_kind": "tekun", "in_force": False}),
    (PartnerEventType.BIRTH_REGISTERED, {"mother_id_number": WOMAN, "child_name": " 李乐 ", "sex": "female",
                                         "birth_date": "2025-01-05", "child_id_number": BABY},
     LifeEventKind.BIRTH, date(2025, 1, 5), {}),
])
def test_good_reports(event_type, data, kind, effective, payload) -> None:  # noqa: ANN001
    report = parse_report(event_type.value, data, TODAY)
    assert (report.type, report.kind, report.effective_date, report.payload) == (event_type, kind, effective, payload)
    assert report.subject.number == data.get("id_number", data.get("mother_id_number")).upper()
    stored = report.stored()
    assert "extra" not in stored
    assert parse_report(event_type.value, stored, TODAY) == report  # a review item re-parses to the same report


def test_a_birth_carries_the_newborn() -> None:
    report = parse_report("gov.health.birth_registered", {"mother_id_number": WOMAN, "child_name": "李乐",
                                                          "sex": "male", "birth_date": "2025-01-05"}, TODAY)
    assert report.subject.sex is Sex.FEMALE
    assert (report.newborn.name, report.newborn.sex, report.newborn.resident_id) == ("李乐", Sex.MALE, None)
    assert report.stored()["child_id_number"] is None


@pytest.mark.parametrize(("event_type", "data", "field"), [
    ("gov.health.vaccination", {"id_number": MAN}, "type"),
    ("gov.health.death_reported", {"died_on": "2025-01-01"}, "data.id_number"),
    ("gov.health.death_reported", {"id_number": BAD_CHECK, "died_on": "2025-01-01"}, "data.id_number"),
    ("gov.health.death_reported", {"id_number": "12345", "died_on": "2025-01-01"}, "data.id_number"),
    ("gov.health.death_reported", {"id_number": MAN, "died_on": "2025/01/01"}, "data.died_on"),
    ("gov.health.death_reported", {"id_number": MAN, "died_on": "2025-02-29"}, "data.died_on"),
    ("gov.health.death_reported", {"id_number": MAN, "died_on": "2025-06-02"}, "data.died_on"),  # future
    ("gov.health.death_reported", {"id_number": MAN, "died_on": "1960-01-01"}, "data.died_on"),  # before birth
    ("gov.health.death_reported", {"id_number": MAN, "died_on": 20250101}, "data.died_on"),
    ("gov.health.disability_assessed", {"id_number": MAN, "grade": 0, "assessed_on": "2020-01-01"}, "data.grade"),
    ("gov.health.disability_assessed", {"id_number": MAN, "grade": True, "assessed_on": "2020-01-01"}, "data.grade"),
    ("gov.health.disability_assessed", {"id_number": MAN, "grade": "2", "assessed_on": "2020-01-01"}, "data.grade"),
    ("gov.health.disability_assessed", {"id_number": MAN, "grade": None, "assessed_on": "2020-01-01"}, "data.grade"),
    ("gov.civil_affairs.low_income_changed", {"id_number": MAN, "kind": "wubao", "in_force": True,
                                              "effective_date": "2020-01-01"}, "data.kind"),
    ("gov.civil_affairs.low_income_changed", {"id_number": MAN, "kind": "dibao", "in_force": "yes",
                                              "effective_date": "2020-01-01"}, "data.in_force"),
    ("gov.civil_affairs.low_income_changed", {"id_number": MAN, "kind": "dibao",
                                              "effective_date": "2020-01-01"}, "data.in_force"),
    ("gov.health.birth_registered", {"mother_id_number": MAN, "child_name": "王乐", "sex": "male",
                                     "birth_date": "2020-01-01"}, "data.mother_id_number"),
    ("gov.health.birth_registered", {"mother_id_number": WOMAN, "child_name": " ", "sex": "male",
                                     "birth_date": "2020-01-01"}, "data.child_name"),
    ("gov.health.birth_registered", {"mother_id_number": WOMAN, "child_name": "李乐", "sex": "boy",
                                     "birth_date": "2020-01-01"}, "data.sex"),
    ("gov.health.birth_registered", {"mother_id_number": WOMAN, "child_name": "李乐", "sex": "male",
                                     "birth_date": "1989-01-01"}, "data.birth_date"),  # before the mother
    ("gov.health.birth_registered", {"mother_id_number": WOMAN, "child_name": "李乐", "sex": "male",
                                     "birth_date": "2025-01-05", "child_id_number": BABY}, "data.sex"),
    ("gov.health.birth_registered", {"mother_id_number": WOMAN, "child_name": "李乐", "sex": "female",
                                     "birth_date": "2025-01-06", "child_id_number": BABY}, "data.birth_date"),
    ("gov.health.birth_registered", {"mother_id_number": WOMAN, "child_name": "李乐", "sex": "female",
                                     "birth_date": "2025-01-05", "child_id_number": BAD_CHECK},
     "data.child_id_number"),
])
def test_bad_reports_name_the_field(event_type, data, field) -> None:  # noqa: ANN001
    with pytest.raises(FieldError) as caught:
        parse_report(event_type, data, TODAY)
    assert caught.value.field == field and caught.value.message_zh


def envelope(**overrides) -> bytes:  # noqa: ANN003
    event = {"specversion": "1.0", "id": "e-1", "source": "/partners/health-1", "type": "gov.health.death_reported",
             "datacontenttype": "application/json", "data": {"id_number": MAN}} | overrides
    return json.dumps({k: v for k, v in event.items() if v is not None}).encode()


def test_envelope() -> None:
    parsed = parse_envelope(envelope())
    assert (parsed.id, parsed.source, parsed.data) == ("e-1", "/partners/health-1", {"id_number": MAN})
    for body, field in ((b"not json", "body"), (b"[]", "body"), (envelope(specversion="0.3"), "specversion"),
                        (envelope(id=None), "id"), (envelope(type=""), "type"), (envelope(data=None), "data"),
                        (envelope(data=[1]), "data"), (envelope(datacontenttype="text/xml"), "datacontenttype")):
        with pytest.raises(FieldError) as caught:
            parse_envelope(body)
        assert caught.value.field == field


@pytest.mark.parametrize(("source", "agency"), [
    ("/partners/health-360702", "health-360702"),
    ("/partners/health-360702/hospital-3", "health-360702"),
    ("/partners/Health", None),
    ("/partners/", None),
    ("/partners/-x", None),
    ("https://example.org/partners/a", None),
    ("/partners/a\n", None),
    ("/partners/" + "a" * 49, None),
    (42, None),
])
def test_the_source_names_the_partner(source, agency) -> None:  # noqa: ANN001
    assert agency_of_source(source) == agency


def test_peek_source_and_media_types() -> None:
    assert peek_source(envelope()) == "/partners/health-1"
    assert peek_source(b"\xff\xfe") is None and peek_source(b"[1]") is None
    assert is_json_media_type("application/cloudevents+json; charset=utf-8")
    assert is_json_media_type("Application/JSON") and not is_json_media_type("text/plain")
    assert not is_json_media_type(None)


@pytest.mark.parametrize(("mother", "child"), [
    ("head", "child"), ("spouse", "child"), ("child", "grandchild"), ("parent", "sibling"), ("other", "other"),
])
def test_the_newborns_relation_to_the_head(mother, child) -> None:  # noqa: ANN001
    assert relation_of_newborn(mother) == child


def _event(n: int, kind: LifeEventKind, on: str, person: str, spouse: str, supersedes: str | None = None) -> LifeEvent:
    return LifeEvent(id=f"e{n}", kind=kind, effective_date=date.fromisoformat(on), household_id="h",
                     person_id=person, payload={"spouse_id": spouse}, supersedes=supersedes, seq=n)


def test_the_spouse_on_a_day_follows_marriages_divorces_and_corrections() -> None:
    events = [
        _event(1, LifeEventKind.MARRIAGE, "2000-01-01", "her", "first"),
        _event(2, LifeEventKind.DIVORCE, "2005-01-01", "first", "her"),  # recorded on his side
        _event(3, LifeEventKind.MARRIAGE, "2008-01-01", "second", "her"),
        _event(4, LifeEventKind.MARRIAGE, "2009-01-01", "her", "third"),
        LifeEvent(id="e5", kind=LifeEventKind.RETRACTED, effective_date=date(2009, 2, 1), household_id="h",
                  person_id="her", supersedes="e4", seq=5),  # the third marriage was a mistake
    ]
    assert spouse_on("her", events, date(1999, 1, 1)) == (True, None)
    assert spouse_on("her", events, date(2003, 1, 1)) == (True, "first")
    assert spouse_on("her", events, date(2006, 1, 1)) == (True, None)
    assert spouse_on("her", events, date(2010, 1, 1)) == (True, "second")
    assert spouse_on("nobody", events, date(2010, 1, 1)) == (False, None)
