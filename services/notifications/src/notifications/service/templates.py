"""Template use cases: create/replace, read, preview, and the default zh templates seeded at start-up."""

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.db.engine import Database
from notifications.db.tables import TemplateRecord
from notifications.domain.templates import KNOWN_PLACEHOLDERS, Template, render, sms_parts, validate_template

SAMPLE_VALUES = {
    "name": "王建国",
    "policy_name": "农村部分计划生育家庭奖励扶助",
    "benefits": "农村部分计划生育家庭奖励扶助，每年960.00元；"
    "计划生育特殊家庭优先救助（向民政、救助部门申请救助时优先受理）",
    "amount_yuan": "960.00",
    "period": "2026",
    "effective_date": "2026-12-01",
    "reason": "银行卡已注销",
    "step": "已批准",
    "occurred_on": "2026-11-24",
    "hotline": "12320",
}
assert set(SAMPLE_VALUES) == set(KNOWN_PLACEHOLDERS)


def to_domain(record: TemplateRecord) -> Template:
    return validate_template(
        record.code,
        record.language,
        record.body,
        record.signature,
        record.category,
        record.provider_template_ids,
        urgent=record.urgent,
        survey=record.survey,
    )


async def save_template(session: AsyncSession, template: Template) -> TemplateRecord:
    record = await session.get(TemplateRecord, (template.code, template.language), with_for_update=True)
    if record is None:
        record = TemplateRecord(code=template.code, language=template.language, body="", signature="", category="")
        session.add(record)
    else:
        record.version += 1
    record.body, record.signature, record.category = template.body, template.signature, template.category.value
    record.urgent, record.survey = template.urgent, template.survey
    record.provider_template_ids = dict(template.provider_template_ids)
    await session.flush()
    await session.refresh(record)
    return record


async def list_templates(session: AsyncSession) -> list[TemplateRecord]:
    rows = await session.execute(select(TemplateRecord).order_by(TemplateRecord.code, TemplateRecord.language))
    return list(rows.scalars())


async def templates_by_code(session: AsyncSession, codes: set[str]) -> dict[tuple[str, str], Template]:
    rows = await session.execute(select(TemplateRecord).where(TemplateRecord.code.in_(codes)))
    return {(r.code, r.language): to_domain(r) for r in rows.scalars()}


@dataclass(frozen=True)
class Preview:
    text: str
    length: int
    parts: int
    placeholders: tuple[str, ...]


def preview(template: Template, values: Mapping[str, str]) -> Preview:
    text = render(template, {**SAMPLE_VALUES, **values})
    return Preview(text=text, length=len(text), parts=sms_parts(text), placeholders=template.placeholders)


SIGN = "【XX县卫健委】"
DEFAULTS: list[dict] = [
    {
        "code": "decision_granted",
        "category": "statutory",
        "body": "{name}您好，经审核您自{effective_date}起享受：{benefits}。咨询请拨{hotline}。",
    },
    {
        "code": "decision_changed",
        "category": "statutory",
        "body": "{name}您好，您的待遇自{effective_date}起调整为：{benefits}。咨询请拨{hotline}。",
    },
    {
        "code": "decision_revoked",
        "category": "statutory",
        "body": "{name}您好，您自{effective_date}起不再享受：{benefits}。如有异议请拨{hotline}。",
    },
    {
        "code": "payment_succeeded",
        "category": "statutory",
        "body": "{name}您好，{policy_name}{period}年度资金{amount_yuan}元已发放至您的一卡通，请查收。",
    },
    {
        "code": "payment_failed",
        "category": "statutory",
        "urgent": True,
        "body": "{name}您好，{policy_name}资金{amount_yuan}元发放未成功（{reason}），请携带一卡通到乡镇计生办核实。",
    },
    {
        "code": "payment_returned",
        "category": "statutory",
        "urgent": True,
        "body": "{name}您好，{policy_name}资金{amount_yuan}元被银行退回（{reason}），请到乡镇计生办更新账户。",
    },
    {
        "code": "application_submitted",
        "category": "statutory",
        "body": "{name}您好，您的救助申请已受理，我们会尽快审核。咨询请拨{hotline}。",
    },
    {"code": "application_reviewed", "category": "statutory", "body": "{name}您好，您的救助申请{step}，正在报批。"},
    {
        "code": "application_approved",
        "category": "statutory",
        "body": "{name}您好，您的救助申请已批准，金额{amount_yuan}元，将尽快发放。",
    },
    {
        "code": "application_refused",
        "category": "statutory",
        "body": "{name}您好，您的救助申请未获批准，原因：{reason}。如有异议请拨{hotline}。",
    },
    {"code": "application_paid", "category": "statutory", "body": "{name}您好，救助金{amount_yuan}元已发放，请查收。"},
    {
        "code": "satisfaction_survey",
        "category": "marketing",
        "survey": True,
        "body": "您对本次救助服务满意吗？请回复1-5打分（5为非常满意）。回T退订",
    },
]


def default_templates() -> list[Template]:
    return [
        validate_template(
            d["code"],
            "zh",
            d["body"],
            SIGN,
            d["category"],
            {"aliyun": f"SMS_{d['code'].upper()}", "tencent": f"T_{d['code']}"},
            urgent=d.get("urgent", False),
            survey=d.get("survey", False),
        )
        for d in DEFAULTS
    ]


async def seed_default_templates(db: Database) -> None:
    """Insert the default zh templates that are missing; an admin's edits are never overwritten."""
    rows = [
        {
            "code": t.code,
            "language": t.language,
            "body": t.body,
            "signature": t.signature,
            "category": t.category.value,
            "urgent": t.urgent,
            "survey": t.survey,
            "provider_template_ids": dict(t.provider_template_ids),
            "version": 1,
        }
        for t in default_templates()
    ]
    async with db.sessionmaker() as session:
        await session.execute(insert(TemplateRecord).values(rows).on_conflict_do_nothing())
        await session.commit()
