"""Bulk import (批量导入): upload a CSV or XLSX file, follow the job, read its per-row error report.

The columns are documented in `registry.domain.import_rows` (Chinese or English headers). The upload
is checked at once (a file that is not CSV/XLSX, not UTF-8/GB18030 text, or has unknown or missing
columns is a 422); the rows are then imported by a background job. Valid rows commit, bad rows are
reported with their row number, column and a message in English and Chinese, and importing the same
file again changes nothing.
"""

import asyncio
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select, tuple_

from carekit.auth.principal import Principal
from carekit.deps import PageDep, UowDep
from carekit.http.pagination import Page, next_cursor
from carekit.http.problems import PROBLEM_JSON, PROBLEM_RESPONSES, Problem, ProblemError, not_found, problem_response
from carekit.http.problems import FieldError as FieldErrorBody
from registry.api.deps import Caseworker, TodayDep
from registry.db.tables import ImportErrorRecord, ImportJobRecord
from registry.domain.errors import FieldError
from registry.domain.import_rows import COLUMNS, column_zh
from registry.domain.jurisdiction import covers
from registry.service.imports.jobs import (
    ImportRunner,
    UploadTooLarge,
    create_job,
    jurisdiction_of,
    save_upload,
)

router = APIRouter(prefix="/v1/imports", tags=["imports"], responses=PROBLEM_RESPONSES)

_COLUMN_DOC = "; ".join(f"{c.zh}/{c.name}{' (required)' if c.required else ''}" for c in COLUMNS)


class ImportPublic(BaseModel):
    id: uuid.UUID
    file_name: str
    file_format: str = Field(description="csv or xlsx")
    status: str = Field(description="queued, running, completed (bad rows are in the error report) or failed")
    total: int = Field(description="Data rows in the file (known once the job is running)")
    done: int = Field(description="Rows processed so far: imported, unchanged or failed")
    failed: int = Field(description="Rows with at least one error (see the error report)")
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    errors: str = Field(description="The per-row error report")


class ImportErrorPublic(BaseModel):
    row: int = Field(description="Row number as a spreadsheet shows it (the header is row 1); 0: the job")
    column: str = Field(description="The column (English header); `row` for the whole row, `job` for the job")
    column_zh: str | None = Field(description="The column's Chinese header")
    message: str
    message_zh: str


def runner(request: Request) -> ImportRunner:
    app = request.app
    if getattr(app.state, "import_runner", None) is None:
        app.state.import_runner = ImportRunner(app.state.runtime, app.state.settings)
    return app.state.import_runner


def _public(job: ImportJobRecord) -> ImportPublic:
    return ImportPublic(id=job.id, file_name=job.file_name, file_format=job.file_format, status=job.status,
                        total=job.total, done=job.done, failed=job.failed, created_by=job.created_by,
                        created_at=job.created_at, finished_at=job.finished_at, errors=f"/v1/imports/{job.id}/errors")


def _bad_file(request: Request, exc: FieldError) -> JSONResponse:
    problem = ProblemError(422, "bad-import-file", "Unreadable import file", exc.message, "导入文件无法读取",
                           exc.message_zh)
    return problem_response(request, problem, [FieldErrorBody(field="file", message=exc.message,
                                                              message_zh=exc.message_zh)])


def visible_job(principal: Principal, job: ImportJobRecord | None) -> bool:
    """Callers whose area covers the region the job was uploaded for (the uploader's) see a job."""
    return job is not None and covers(principal, job.region)


@router.post("", status_code=202, response_model=ImportPublic,
             responses={413: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "File over 1 GiB"}},
             summary="Upload a CSV (UTF-8, UTF-8 with BOM, GB18030) or XLSX file of households and persons",
             description=f"Multipart field `file`. Columns (Chinese or English headers): {_COLUMN_DOC}. Either "
                         "公民身份号码/id_number or both 性别/sex and 出生日期/birth_date. Rows of one household share "
                         "户编号 within a 区划代码. Life events: 死亡日期/death_date; 残疾等级/disability_grade (1–4) "
                         "with 残疾评定日期/disability_assessed_on; 光荣证号/certificate_number with "
                         "发证日期/certificate_issued_on; 低保类别/low_income_kind (低保/dibao, 特困/tekun) with "
                         "低保起始日期/low_income_since; an event already on record is not recorded again. The job "
                         "runs in the background: follow `Location`.")
async def create_import(request: Request, response: Response, principal: Caseworker, uow: UowDep, today: TodayDep,
                        file: Annotated[UploadFile, File(description="The CSV or XLSX file")],
                        ) -> ImportPublic | JSONResponse:
    try:
        upload = await asyncio.to_thread(save_upload, file.file)
    except UploadTooLarge:
        raise ProblemError(413, "payload-too-large", "File too large", "An import file may have at most 1 GiB.",
                           "文件过大", "导入文件不能超过1 GiB。") from None
    try:
        job, info = await create_job(uow, principal, file.filename or "upload", upload)
    except FieldError as exc:
        await asyncio.to_thread(upload.path.unlink, missing_ok=True)
        return _bad_file(request, exc)
    except BaseException:
        await asyncio.to_thread(upload.path.unlink, missing_ok=True)
        raise
    runner(request).start(job.id, upload.path, info, today, jurisdiction_of(principal))
    response.headers["Location"] = f"/v1/imports/{job.id}"
    return _public(job)


@router.get("/{import_id}", response_model=ImportPublic, summary="An import job's status and progress")
async def get_import(import_id: uuid.UUID, principal: Caseworker, uow: UowDep) -> ImportPublic:
    job = await uow.session.get(ImportJobRecord, import_id)
    if not visible_job(principal, job):
        raise not_found("import", "导入任务")
    return _public(job)


@router.get("/{import_id}/errors", response_model=Page[ImportErrorPublic],
            summary="An import job's per-row error report, by row and column")
async def list_import_errors(import_id: uuid.UUID, principal: Caseworker, uow: UowDep, page: PageDep,
                             request: Request) -> Page[ImportErrorPublic]:
    job = await uow.session.get(ImportJobRecord, import_id)
    if not visible_job(principal, job):
        raise not_found("import", "导入任务")
    stmt = (select(ImportErrorRecord).where(ImportErrorRecord.import_id == import_id)
            .order_by(ImportErrorRecord.row_number, ImportErrorRecord.column).limit(page.limit))
    if page.after:
        stmt = stmt.where(tuple_(ImportErrorRecord.row_number, ImportErrorRecord.column)
                          > (int(page.after["row"]), str(page.after["column"])))
    rows = (await uow.session.execute(stmt)).scalars().all()
    items = [ImportErrorPublic(row=r.row_number, column=r.column, column_zh=column_zh(r.column), message=r.message,
                               message_zh=r.message_zh) for r in rows]
    return Page(items=items, next_cursor=next_cursor(request, items, page.limit,
                                                     lambda e: {"row": e.row, "column": e.column}))
