"""Policies stored in this service's database: drafting, activation (maker ≠ checker), retirement, the
YAML library seeded as active versions, and the in-memory cache of active versions every evaluation
path reads.

The cache is per database and compared against a generation (`max(status_seq)`, a sequence value taken
at every insert and status change), looked up at most once a second (`GENERATION_TTL_SECONDS`): an
activation in another process is seen within a second, and this process drops its cache at once
(`invalidate`). The hot paths (the partners' check) then read no policy row at all.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from entitlements.adapters.policy_library import load_library
from entitlements.db.tables import AuditRecord, PolicyVersionRecord
from entitlements.domain.errors import PolicyError
from entitlements.domain.policy import (
    CheckedPolicy,
    Policy,
    Status,
    activate,
    check_policy,
    overlaps,
    policy_from_dict,
    policy_to_dict,
    retire,
    visible_in,
)

PV = PolicyVersionRecord.__table__
AUDIT = AuditRecord.__table__
LIBRARY_ACTOR = "library"


class PolicyNotFound(LookupError):
    pass


class PolicyConflict(Exception):
    """409: the change clashes with the stored state (overlap, not a draft)."""

    def __init__(self, slug: str, message: str, message_zh: str, **extensions: Any) -> None:
        super().__init__(message)
        self.slug, self.message, self.message_zh, self.extensions = slug, message, message_zh, extensions


class NotAllowed(Exception):
    """403: maker ≠ checker, or outside the caller's region."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message, self.message_zh = message, message_zh


class BatchRefused(PolicyError):
    """A valid policy outside the SQL subset, drafted for batch use."""


GENERATION_TTL_SECONDS = 1.0


@dataclass
class _Cached:
    generation: int | None
    policies: tuple[CheckedPolicy, ...]
    checked_at: float = 0.0


_CACHE: dict[str, _Cached] = {}


def _cache_key(session: AsyncSession) -> str:
    bind = session.bind
    url = getattr(bind, "url", None) or bind.engine.url  # type: ignore[union-attr]
    return url.render_as_string(hide_password=True)


def invalidate() -> None:
    _CACHE.clear()


def stored_policy(row: Any) -> Policy:
    body = dict(row.body)
    body.update(status=row.status, drafted_by=row.drafted_by, approved_by=row.approved_by)
    return policy_from_dict(body)


async def _generation(session: AsyncSession) -> int | None:
    return (await session.execute(select(func.max(PV.c.status_seq)))).scalar()


async def active_policies(session: AsyncSession) -> tuple[CheckedPolicy, ...]:
    """Every active policy version (seeding the YAML library first if the table is empty)."""
    key = _cache_key(session)
    cached = _CACHE.get(key)
    if cached is not None and time.monotonic() - cached.checked_at < GENERATION_TTL_SECONDS:
        return cached.policies
    generation = await _generation(session)
    if generation is None:
        await seed_library(session)
        generation = await _generation(session)
    if cached is not None and cached.generation == generation:
        cached.checked_at = time.monotonic()
        return cached.policies
    rows = (await session.execute(select(PV).where(PV.c.status == Status.ACTIVE.value)
                                  .order_by(PV.c.code, PV.c.version))).all()
    policies = tuple(check_policy(stored_policy(row)) for row in rows)
    _CACHE[key] = _Cached(generation, policies, time.monotonic())
    return policies


async def active_policy(session: AsyncSession, code: str) -> CheckedPolicy | None:
    return next((c for c in await active_policies(session) if c.policy.code == code), None)


def _values(policy: Policy, checked: CheckedPolicy) -> dict[str, Any]:
    return {"code": policy.code, "version": policy.version, "jurisdiction": policy.jurisdiction,
            "status": policy.status.value, "effective_from": policy.effective_from,
            "effective_to": policy.effective_to, "body": policy_to_dict(policy),
            "batch_problem": checked.batch_problem.as_dict() if checked.batch_problem else None,
            "drafted_by": policy.drafted_by or LIBRARY_ACTOR, "approved_by": policy.approved_by}


async def seed_library(session: AsyncSession) -> list[str]:
    """Insert the YAML library's versions as active ones, idempotently; a version that would overlap an
    active version already stored (activated through the API) is left out. Returns what was added."""
    added = []
    for checked in load_library():
        policy = dataclasses.replace(checked.policy, status=Status.ACTIVE, drafted_by=LIBRARY_ACTOR,
                                     approved_by=LIBRARY_ACTOR)
        await _lock(session, policy.code)
        if await _overlapping_active(session, policy):
            continue
        values = _values(policy, checked) | {"activated_at": func.now()}
        result = await session.execute(pg_insert(PV).values(**values).on_conflict_do_nothing()
                                        .returning(PV.c.code))
        if result.first() is not None:
            added.append(f"{policy.code}/v{policy.version}")
    return added


async def _lock(session: AsyncSession, code: str) -> None:
    """Serialise drafting and activation per policy code (version numbers, the overlap rule)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('policy:' || :code))"), {"code": code})


async def _overlapping_active(session: AsyncSession, policy: Policy) -> Policy | None:
    rows = (await session.execute(select(PV).where(PV.c.code == policy.code, PV.c.status == Status.ACTIVE.value,
                                                   PV.c.version != policy.version))).all()
    return next((p for p in map(stored_policy, rows) if overlaps(p, policy)), None)


async def audit(session: AsyncSession, actor: str, action: str, entity: str, **detail: Any) -> None:
    await session.execute(AUDIT.insert().values(actor=actor, action=action, entity=entity, detail=detail))


def _check_draft(policy: Policy) -> CheckedPolicy:
    try:
        return check_policy(policy)
    except PolicyError as exc:
        if policy.batch:
            try:
                check_policy(dataclasses.replace(policy, batch=False))
            except PolicyError:
                raise exc from None
            raise BatchRefused(exc.field, "Refused for batch use (cycles and simulations): " + exc.message
                               + " Rewrite it inside the SQL subset, or draft it with batch: false.",
                               "不能用于批量计算（发放周期和模拟）：" + exc.message_zh
                               + " 请改写为支持的表达式子集，或设置 batch: false。", exc.position) from None
        raise


async def draft(session: AsyncSession, data: dict[str, Any], drafted_by: str, region: str | None) -> Policy:
    """A new draft version of `data["code"]` (version = highest so far + 1); PolicyError if invalid."""
    data = {k: v for k, v in data.items() if k not in ("version", "status", "drafted_by", "approved_by")}
    probe = policy_from_dict({**data, "version": 1})
    if not region or not probe.jurisdiction.startswith(region):
        raise NotAllowed("You may draft policies only for your own region or inside it.",
                         "只能为本辖区或其下级地区起草政策。")
    await _lock(session, probe.code)
    latest = (await session.execute(select(func.max(PV.c.version)).where(PV.c.code == probe.code))).scalar()
    policy = dataclasses.replace(probe, version=(latest or 0) + 1, status=Status.DRAFT, drafted_by=drafted_by)
    checked = _check_draft(policy)
    values = _values(policy, checked)
    if data.get("sources") is not None:  # for people: kept with the version, not read by the rules
        values["body"]["sources"] = data["sources"]
    await session.execute(PV.insert().values(**values))
    await audit(session, drafted_by, "policy.drafted", f"policy/{policy.code}/v{policy.version}")
    return policy


async def get_version(session: AsyncSession, code: str, version: int) -> Any:
    row = (await session.execute(select(PV).where(PV.c.code == code, PV.c.version == version))).first()
    if row is None:
        raise PolicyNotFound(f"{code}/v{version}")
    return row


async def visible_version(session: AsyncSession, code: str, version: int, region: str | None) -> Any:
    """The version, if its jurisdiction concerns a caller of `region` (else PolicyNotFound, as unknown)."""
    row = await get_version(session, code, version)
    if not visible_in(row.jurisdiction, region):
        raise PolicyNotFound(f"{code}/v{version}")
    return row


async def list_versions(session: AsyncSession, region: str | None, code: str | None = None,
                        status: str | None = None) -> list[Any]:
    """The versions whose jurisdiction concerns a caller of `region` (see `visible_in`)."""
    query = select(PV).order_by(PV.c.code, PV.c.version)
    if code:
        query = query.where(PV.c.code == code)
    if status:
        query = query.where(PV.c.status == status)
    return [row for row in (await session.execute(query)).all() if visible_in(row.jurisdiction, region)]


async def _changeable(session: AsyncSession, code: str, version: int, region: str | None) -> Policy:
    """A version an approver of `region` may activate or retire: one inside their region."""
    row = await visible_version(session, code, version, region)
    if not row.jurisdiction.startswith(region or ""):
        raise NotAllowed("A policy above your region is activated or retired at its own level.",
                         "上级地区的政策须由该级审批人启用或停用。")
    return stored_policy(row)


async def activate_version(session: AsyncSession, code: str, version: int, approver: str,
                           region: str | None) -> Policy:
    """Activate a draft: approver ≠ drafter (NotAllowed), a draft only and no overlap (PolicyConflict)."""
    await _lock(session, code)
    policy = await _changeable(session, code, version, region)
    if policy.status is not Status.DRAFT:
        raise PolicyConflict("not-a-draft", f"Version {version} is {policy.status.value}; only a draft is activated.",
                             f"第{version}版状态为{policy.status.value}，只有草稿可以启用。")
    if policy.drafted_by == approver:
        raise NotAllowed("A policy is activated by someone other than its drafter (maker ≠ checker).",
                         "政策须由起草人以外的人审核启用。")
    clash = await _overlapping_active(session, policy)
    if clash is not None:
        raise PolicyConflict(
            "overlapping-policy", f"Version {clash.version} of {code} is active for the same jurisdiction over "
            "overlapping dates. Retire it first or change the effective dates.",
            f"{code} 第{clash.version}版在同一地区的生效期与此重叠，请先停用该版本或调整生效日期。",
            active_version=clash.version)
    active = activate(policy, approver)
    await session.execute(update(PV).where(PV.c.code == code, PV.c.version == version).values(
        status=active.status.value, approved_by=approver, activated_at=func.now(),
        status_seq=func.nextval("policy_status_seq")))
    await audit(session, approver, "policy.activated", f"policy/{code}/v{version}")
    invalidate()
    return active


async def retire_version(session: AsyncSession, code: str, version: int, approver: str,
                         region: str | None) -> Policy:
    await _lock(session, code)
    policy = await _changeable(session, code, version, region)
    try:
        retired = retire(policy)
    except PolicyError as exc:
        raise PolicyConflict("not-active", exc.message, exc.message_zh) from None
    await session.execute(update(PV).where(PV.c.code == code, PV.c.version == version).values(
        status=retired.status.value, status_seq=func.nextval("policy_status_seq")))
    await audit(session, approver, "policy.retired", f"policy/{code}/v{version}")
    invalidate()
    return retired
