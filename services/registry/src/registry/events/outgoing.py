"""Events the registry publishes. They carry ids, division codes, facts and the blind index of the
ID number — never a name, ID number or phone."""

from typing import Any

from carekit.events.envelope import EventEnvelope, new_event

SOURCE = "/guanhuai/registry"

HOUSEHOLD_REGISTERED = "registry.household.registered"
HOUSEHOLD_UPDATED = "registry.household.updated"
HOUSEHOLD_FACTS_CHANGED = "registry.household.facts_changed"
PERSON_REGISTERED = "registry.person.registered"
PERSON_UPDATED = "registry.person.updated"
PERSON_DIED = "registry.person.died"
PERSON_DISABILITY_CHANGED = "registry.person.disability_changed"
PERSON_MOVED = "registry.person.moved"
CERTIFICATE_ISSUED = "registry.certificate.issued"
CERTIFICATE_REVOKED = "registry.certificate.revoked"
LOW_INCOME_CHANGED = "registry.low_income.changed"

ALL = (HOUSEHOLD_REGISTERED, HOUSEHOLD_UPDATED, HOUSEHOLD_FACTS_CHANGED, PERSON_REGISTERED, PERSON_UPDATED,
       PERSON_DIED, PERSON_DISABILITY_CHANGED, PERSON_MOVED, CERTIFICATE_ISSUED, CERTIFICATE_REVOKED,
       LOW_INCOME_CHANGED)


def registry_event(event_type: str, subject: str, data: dict[str, Any]) -> EventEnvelope:
    return new_event(event_type, data, source=SOURCE, subject=subject)
