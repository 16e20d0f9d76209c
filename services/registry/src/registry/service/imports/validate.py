"""Checking a chunk of import rows and preparing them for storage, in a worker process or inline.

A chunk is a run of rows cut at household boundaries. For each row the domain checks run (the same
as the API's); each valid person gets fresh ids, sealed identifiers, blind indexes and pinyin; each
household with valid rows gets fresh ids and, when nothing in the chunk links it to another
household, its facts computed from its rows. The result is COPY text for the writer's staging tables
plus the errors: plain bytes and small lists, cheap to send back from a worker process.

Nothing here touches the database: whether a household or person exists already is decided by the
writer (`registry.service.imports.store`).
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field
from datetime import date

from carekit.pii import PiiVault, build_vault
from carekit.settings import ServiceSettings
from registry.data import division_csv_text
from registry.domain.divisions import DivisionTable, parse_division_csv
from registry.domain.facts import HouseholdFacts
from registry.domain.history import LifeEventKind
from registry.domain.identity import ResidentId
from registry.domain.import_rows import (
    Header,
    HouseholdFields,
    HouseholdKey,
    ImportedPerson,
    Jurisdiction,
    NewMember,
    RowContext,
    RowError,
    RowErrors,
    at_row,
    check_household,
    check_person,
    check_same_household,
    household_key,
    new_household_facts,
    row_cells,
)
from registry.service.names import initials_of, pinyin_of
from registry.service.persons import BANK_FIELD, ID_FIELD, PHONE_FIELD, id_index

HOUSEHOLD_COLUMNS = ("hh", "id", "division_code", "external_ref", "hukou_type", "residence_division_code", "address",
                     "facts", "members", "contained", "event_id", "facts_event_id", "residence_event_id")
PERSON_COLUMNS = ("row_number", "id", "hh", "name", "name_pinyin", "name_initials", "sex", "birth_date", "relation",
                  "id_index", "id_cipher", "id_key", "phone_cipher", "phone_key", "bank_cipher", "bank_key",
                  "mother_index", "father_index", "mother_id", "father_id", "entry_kind", "entry_date", "event_id",
                  "out_id", "death_date")
EVENT_COLUMNS = ("row_number", "hh", "kind", "effective_date", "payload", "on_household", "event_id", "out_id")


@dataclass(frozen=True)
class JobContext:
    """What every chunk of one job is checked against (picklable)."""

    header: Header
    today: date
    jurisdiction: Jurisdiction


@dataclass
class ChunkResult:
    seq: int
    rows: int  # data rows in the chunk
    failed_rows: list[int]  # rows with at least one error
    errors: list[RowError]
    households: bytes  # COPY text for the staging households
    persons: bytes  # COPY text for the staging persons
    events: bytes  # COPY text for the staging life events given on the rows (death, disability, …)
    person_indexes: list[tuple[int, str]]  # (row, blind index) of valid persons with an ID number
    needs_earlier: bool  # some parent link points outside the chunk (to an earlier row or a stored person)
    facts_computed: int = 0
    seconds: float = 0.0


class ChunkChecker:
    """Holds the PII vault, the division table and the caches one process needs."""

    def __init__(self, vault: PiiVault, divisions: DivisionTable) -> None:
        self.vault = vault
        self.divisions = divisions
        self.names = NamePinyin()

    def check(self, seq: int, rows: list[tuple[int, list[str]]], job: JobContext,
              continued: frozenset[HouseholdKey] = frozenset()) -> ChunkResult:
        """`continued`: households of the chunk whose number came earlier in the file (other chunks)."""
        import time

        started = time.perf_counter()
        context = RowContext(job.today, self.divisions, job.jurisdiction)
        households: dict[HouseholdKey, _Household] = {}
        errors: list[RowError] = []
        failed: list[int] = []
        parents: dict[str, ResidentId] = {}
        for number, cells in rows:
            row_errors = self._check_row(number, cells, job.header, context, households, parents, continued)
            if row_errors:
                errors.extend(row_errors)
                failed.append(number)
        result = self._encode(seq, households, job.today)
        result.needs_earlier = result.needs_earlier or bool(continued)
        result.rows, result.failed_rows, result.errors = len(rows), failed, errors
        result.seconds = time.perf_counter() - started
        return result

    def _check_row(self, number: int, cells: list[str], header: Header, context: RowContext,
                   households: dict[HouseholdKey, _Household], parents: dict[str, ResidentId],
                   continued: frozenset[HouseholdKey]) -> list[RowError]:
        try:
            values = row_cells(cells, header, number)
        except RowErrors as exc:
            return exc.errors
        key = household_key(values)
        household = households.get(key)
        if household is None:
            household = households[key] = _Household(first_row=number, continued=key in continued)
            try:
                household.fields = check_household(values, context, continued=household.continued)
            except RowErrors as exc:
                household.errors = exc
        found: list[RowError] = []
        if household.errors is not None:
            found += at_row(household.errors, number)
        elif household.first_row != number and not household.continued:
            try:
                check_same_household(values, household.fields)  # type: ignore[arg-type]
            except RowErrors as exc:
                found += at_row(exc, number)
        try:
            person = check_person(values, number, context, parents)
        except RowErrors as exc:
            found += at_row(exc, number)
        if not found:
            household.members.append(person)
        return found

    def _encode(self, seq: int, households: dict[HouseholdKey, _Household], today: date) -> ChunkResult:
        valid = [h for h in households.values() if h.members]
        person_total = sum(len(h.members) for h in valid)
        event_total = sum(len(p.events) for h in valid for p in h.members)
        ids = iter(uuid7_strings(4 * len(valid) + 3 * person_total + 2 * event_total))
        by_number: dict[str, _Household] = {}
        for household in valid:
            for person in household.members:
                if person.checked.resident_id is not None:
                    by_number[person.checked.resident_id.number] = household
        needs_earlier = False
        for household in valid:
            for person in household.members:
                for parent in (person.mother, person.father):
                    if parent is None:
                        continue
                    owner = by_number.get(parent.number)
                    if owner is None:
                        needs_earlier = True
                    elif owner is not household:
                        owner.contained = False  # a child elsewhere: its facts need the stored rows
        house_lines: list[str] = []
        person_lines: list[str] = []
        event_lines: list[str] = []
        indexes: list[tuple[int, str]] = []
        computed = 0
        vault, names = self.vault, self.names
        for household in valid:
            fields = household.fields
            assert fields is not None
            hid, event_id, facts_event_id, residence_event_id = next(ids), next(ids), next(ids), next(ids)
            members = [NewMember(next(ids), person) for person in household.members]
            local: dict[str, str] = {}  # ID number -> id of the household's row with it (the first one)
            for member in members:
                if member.person.checked.resident_id is not None:
                    local.setdefault(member.person.checked.resident_id.number, member.id)
            for member in members:
                pid, person = member.id, member.person
                checked = person.checked
                index = id_cipher = id_key = None
                if checked.resident_id is not None:
                    index = id_index(vault, checked.resident_id.number)
                    sealed = vault.seal(checked.resident_id.number, ID_FIELD)
                    id_cipher, id_key = sealed.cipher, sealed.key_id
                    indexes.append((person.row, index))
                phone_cipher = phone_key = bank_cipher = bank_key = None
                if checked.phone:
                    sealed = vault.seal(checked.phone, PHONE_FIELD)
                    phone_cipher, phone_key = sealed.cipher, sealed.key_id
                if checked.bank_card:
                    sealed = vault.seal(checked.bank_card, BANK_FIELD)
                    bank_cipher, bank_key = sealed.cipher, sealed.key_id
                entry_kind = "registered" if person.registered_on else "birth"
                entry_date = person.registered_on or checked.birth_date
                pinyin, initials = names(checked.name)
                person_lines.append("\t".join((
                    str(person.row), pid, str(household.first_row), _text(checked.name), _text(pinyin),
                    _text(initials), checked.sex.value, checked.birth_date.isoformat(), checked.relation,
                    _opt(index), _bytea(id_cipher), _opt(id_key), _bytea(phone_cipher), _opt(phone_key),
                    _bytea(bank_cipher), _opt(bank_key),
                    _opt(person.mother and id_index(vault, person.mother.number)),
                    _opt(person.father and id_index(vault, person.father.number)),
                    _opt(person.mother and local.get(person.mother.number)),
                    _opt(person.father and local.get(person.father.number)),
                    entry_kind, entry_date.isoformat(), next(ids), next(ids), _opt(_death_date(person)),
                )))
                event_lines.extend("\t".join((
                    str(person.row), str(household.first_row), event.kind.value, event.effective_date.isoformat(),
                    _text(json_text(event.payload)), "t" if event.on_household else "f", next(ids), next(ids),
                )) for event in person.events)
            facts_text = "\\N"
            if household.contained and not household.continued and fields.hukou_type is not None:
                facts = new_household_facts(hid, fields, members, today)
                computed += 1
                if facts is not None:
                    facts_text = _text(json_text(facts_document(facts)))
            house_lines.append("\t".join((
                str(household.first_row), hid, fields.division_code, _text(fields.household_ref),
                _opt(fields.hukou_type and fields.hukou_type.value), _opt(fields.residence_division_code),
                _text(fields.address), facts_text,
                str(len(members)), "t" if household.contained else "f", event_id, facts_event_id, residence_event_id,
            )))
        return ChunkResult(
            seq=seq, rows=0, failed_rows=[], errors=[],
            households=_lines(house_lines), persons=_lines(person_lines), events=_lines(event_lines),
            person_indexes=indexes,
            needs_earlier=needs_earlier, facts_computed=computed,
        )


@dataclass
class _Household:
    first_row: int
    fields: HouseholdFields | None = None
    errors: RowErrors | None = None
    members: list[ImportedPerson] = field(default_factory=list)
    contained: bool = True
    continued: bool = False


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
class NamePinyin:
    """`pinyin_of` and `initials_of` of a name (registry.service.names), computed per character.

    pypinyin reads a name phrase by phrase (~35 µs per call); a name of Chinese characters none of
    whose runs of two or more characters is in pypinyin's phrase dictionary reads character by
    character, so its pinyin is the join of each character's, cached. Any other name (a phrase
    inside, or a character pypinyin does not know, such as a Latin letter or "·") takes the exact
    path, cached per name.
    """

    def __init__(self) -> None:
        from pypinyin.constants import PHRASES_DICT, PINYIN_DICT

        self._phrases = PHRASES_DICT
        self._known = PINYIN_DICT
        self._chars: dict[str, tuple[str, str]] = {}
        self._exact = functools.lru_cache(maxsize=50_000)(lambda name: (pinyin_of(name), initials_of(name)))

    def __call__(self, name: str) -> tuple[str, str]:
        if not self._by_character(name):
            return self._exact(name)
        parts = []
        for char in name:
            part = self._chars.get(char)
            if part is None:
                part = self._chars[char] = (pinyin_of(char), initials_of(char))
            parts.append(part)
        return " ".join(p[0] for p in parts), "".join(p[1] for p in parts)

    def _by_character(self, name: str) -> bool:
        if not all(ord(char) in self._known for char in name):
            return False
        size = len(name)
        return not any(name[i:j] in self._phrases for i in range(size) for j in range(i + 2, size + 1))


def uuid7_strings(count: int, now_ms: int | None = None) -> list[str]:
    """`count` fresh time-ordered UUIDs (RFC 9562 version 7) as canonical strings, ascending.

    Bulk-inserted rows with random (version 4) keys land on random pages of every index over an id
    (primary keys, household_id, person_id, mother/father): once those indexes outgrow shared buffers,
    each row reads pages back and writes full-page images to the WAL. Time-ordered keys append at the
    right edge instead. Layout: 48-bit Unix milliseconds, version 7, a 26-bit counter split around the
    variant bits (ascending within a call), 48 random bits (one read of the OS's random source)."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    stamp = f"{ms & 0xFFFF_FFFF_FFFF:012x}"
    prefix = f"{stamp[:8]}-{stamp[8:]}"
    randomness = os.urandom(6 * count).hex()
    return [f"{prefix}-7{i >> 14:03x}-{0x8000 | (i & 0x3FFF):04x}-{randomness[12 * i:12 * i + 12]}"
            for i in range(count)]


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: str) -> str:
    """A value in PostgreSQL's COPY text format."""
    return value.translate(_COPY_ESCAPES)


def _death_date(person: ImportedPerson) -> str | None:
    deaths = [e.effective_date.isoformat() for e in person.events if e.kind is LifeEventKind.DEATH]
    return deaths[0] if deaths else None


def _opt(value: str | None) -> str:
    return "\\N" if value is None else value


def _bytea(value: bytes | None) -> str:
    return "\\N" if value is None else "\\\\x" + value.hex()


def _lines(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode() if lines else b""


def facts_document(facts: HouseholdFacts) -> dict:
    """`registry.service.facts.facts_json`, without the generic (and slow) dataclass walk."""
    return {
        "household_id": facts.household_id,
        "as_of": facts.as_of.isoformat(),
        "children_ever": facts.children_ever,
        "living_children": facts.living_children,
        "living_sons": facts.living_sons,
        "living_daughters": facts.living_daughters,
        "only_child": facts.only_child,
        "single_daughter": facts.single_daughter,
        "two_daughters": facts.two_daughters,
        "bereaved": facts.bereaved,
        "disabled_only_child": facts.disabled_only_child,
        "parents": [{"person_id": p.person_id, "sex": p.sex.value, "alive": p.alive, "age": p.age}
                    for p in facts.parents],
        "youngest_child_birth_date": facts.youngest_child_birth_date.isoformat()
        if facts.youngest_child_birth_date else None,
        "hukou_type": facts.hukou_type.value,
        "migrant": facts.migrant,
        "low_income": facts.low_income,
        "low_income_kinds": [kind.value for kind in facts.low_income_kinds],
        "certificate_held": facts.certificate_held,
        "certificate_number": facts.certificate_number,
    }


def json_text(document: dict) -> str:
    import json

    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# worker processes
# ---------------------------------------------------------------------------------------------
_checker: ChunkChecker | None = None


def build_checker(settings: ServiceSettings) -> ChunkChecker:
    return ChunkChecker(build_vault(settings), parse_division_csv(division_csv_text()))


def init_worker(settings: ServiceSettings) -> None:
    """ProcessPoolExecutor initializer: one checker per worker process."""
    global _checker
    _checker = build_checker(settings)


def check_in_worker(seq: int, packed: PackedRows, job: JobContext,
                    continued: frozenset[HouseholdKey]) -> ChunkResult:
    assert _checker is not None, "init_worker was not run"
    return _checker.check(seq, unpack_rows(packed), job, continued)


# Rows travel to a worker as one string (cells joined by US, rows by RS): pickling a list of lists of
# short strings costs ~10 µs a row, a string next to nothing.
_CELL, _ROW = "\x1f", "\x1e"
PackedRows = tuple[list[int], str | list[list[str]]]


def pack_rows(rows: list[tuple[int, list[str]]]) -> PackedRows:
    numbers = [number for number, _ in rows]
    cells = [row for _, row in rows]
    text = _ROW.join(_CELL.join(row) for row in cells)
    if text.count(_CELL) + text.count(_ROW) != sum(len(row) - 1 for row in cells) + len(cells) - 1:
        return numbers, cells  # a cell holds a separator: send the lists as they are
    return numbers, text


def unpack_rows(packed: PackedRows) -> list[tuple[int, list[str]]]:
    numbers, body = packed
    cells = body if isinstance(body, list) else [row.split(_CELL) for row in body.split(_ROW)]
    return list(zip(numbers, cells, strict=True))
