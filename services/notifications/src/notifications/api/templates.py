"""SMS templates (admins write, staff read) and the preview: rendered text, length and SMS parts."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from carekit.deps import UowDep
from carekit.http.openapi import REFUSES_CONTROLS
from carekit.http.problems import PROBLEM_RESPONSES, not_found
from notifications.api.deps import Admin, Staff
from notifications.api.template_schema import BY_CATEGORY
from notifications.api.template_schema import SIGNATURE as SIGNATURE_PATTERN
from notifications.db.tables import TemplateRecord
from notifications.domain.templates import CODE, KNOWN_PLACEHOLDERS, PROVIDERS, validate_template
from notifications.service.templates import list_templates, preview, save_template, to_domain

router = APIRouter(prefix="/v1/templates", tags=["templates"], responses=PROBLEM_RESPONSES)
Code = Annotated[str, Path(pattern=CODE.pattern, description="2–63 lower-case letters, digits or underscores")]
Language = Literal["zh", "en"]


class TemplateBase(BaseModel):
    body: str = Field(
        min_length=1,
        max_length=500,
        description="Text with named placeholders, {name} or ${name} (see /v1/templates/placeholders)",
        examples=["{name}您好，您家已符合{policy_name}条件，标准{amount_yuan}元。"],
        json_schema_extra={REFUSES_CONTROLS: True},  # its pattern is the category's (BY_CATEGORY)
    )
    signature: str = Field(examples=["【XX县卫健委】"],
                           json_schema_extra={"pattern": SIGNATURE_PATTERN, REFUSES_CONTROLS: True})
    category: Literal["statutory", "marketing"]
    urgent: bool = Field(default=False, strict=True, description="Urgent texts ignore quiet hours (21:00–08:00)")
    survey: bool = Field(default=False, strict=True, description="Replies 1–5 to this text are satisfaction scores")
    provider_template_ids: dict[str, str] = Field(
        description="The template id registered at each provider",
        examples=[{"aliyun": "SMS_123456", "tencent": "1234567"}],
        json_schema_extra={"propertyNames": {"enum": list(PROVIDERS)}, "minProperties": 1},
    )


class TemplateCreate(TemplateBase):
    model_config = ConfigDict(json_schema_extra=BY_CATEGORY)
    language: Language = "zh"


class TemplatePublic(TemplateBase):
    code: str
    language: str
    placeholders: list[str]
    version: int
    updated_at: datetime


class PreviewRequest(BaseModel):
    language: Language = "zh"
    values: dict[str, str] = Field(default_factory=dict, description="Values; missing ones get sample values")


class PreviewPublic(BaseModel):
    text: str = Field(description="What the phone shows, signature included")
    length: int
    parts: int = Field(description="SMS billed: 1 up to 70 characters, else 67 characters per part")
    placeholders: list[str]


class PlaceholderPublic(BaseModel):
    name: str
    description: str


def _public(r: TemplateRecord) -> TemplatePublic:
    t = to_domain(r)
    return TemplatePublic(
        code=r.code,
        language=r.language,
        body=r.body,
        signature=r.signature,
        category=r.category,
        urgent=r.urgent,
        survey=r.survey,
        provider_template_ids=r.provider_template_ids,
        placeholders=list(t.placeholders),
        version=r.version,
        updated_at=r.updated_at,
    )


@router.get("/placeholders", response_model=list[PlaceholderPublic], summary="Placeholders a template may use")
async def list_placeholders(_: Staff) -> list[PlaceholderPublic]:
    return [PlaceholderPublic(name=k, description=v) for k, v in KNOWN_PLACEHOLDERS.items()]


@router.put("/{code}", response_model=TemplatePublic, summary="Create or replace a template (validated)")
async def put_template(code: Code, body: TemplateCreate, _: Admin, uow: UowDep) -> TemplatePublic:
    template = validate_template(
        code,
        body.language,
        body.body,
        body.signature,
        body.category,
        body.provider_template_ids,
        urgent=body.urgent,
        survey=body.survey,
    )
    record = await save_template(uow.session, template)
    public = _public(record)
    await uow.commit()
    return public


@router.get("", response_model=list[TemplatePublic], summary="All templates")
async def get_templates(_: Staff, uow: UowDep) -> list[TemplatePublic]:
    return [_public(r) for r in await list_templates(uow.session)]


async def _record(uow: UowDep, code: str, language: str) -> TemplateRecord:
    record = await uow.session.get(TemplateRecord, (code, language))
    if record is None:
        raise not_found("template", "模板")
    return record


@router.get("/{code}", response_model=TemplatePublic, summary="One template")
async def get_template(
    code: Code, _: Staff, uow: UowDep, language: Annotated[Language, Query()] = "zh"
) -> TemplatePublic:
    return _public(await _record(uow, code, language))


@router.post("/{code}/preview", response_model=PreviewPublic, summary="Render a template; length and SMS parts")
async def preview_template(code: Code, body: PreviewRequest, _: Staff, uow: UowDep) -> PreviewPublic:
    template = to_domain(await _record(uow, code, body.language))
    shown = preview(template, body.values)
    return PreviewPublic(text=shown.text, length=shown.length, parts=shown.parts, placeholders=list(shown.placeholders))
