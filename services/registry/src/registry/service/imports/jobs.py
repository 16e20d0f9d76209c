"""Import jobs: accepted at upload, run in the background, with progress and a per-row error report.

`create_job` (in the upload request) keeps the uploaded file in a private temporary file, checks its
format and header, and writes the job row. `ImportRunner.start(job_id, path)` then runs the job as a
background task of the service process; it receives the job's id and the file's path, never ORM
objects, and loads what it needs itself.

A job reads the file in chunks cut at household boundaries, checks the chunks (in worker processes
for big files, so both cores work; inline for small ones), drops rows whose ID number came earlier in
the file, and stores each chunk in its own transaction (`store.store_chunk`), up to `writers` chunks
at a time. A chunk whose rows name a parent outside the chunk waits until every earlier chunk has
committed, so "a parent must be registered, earlier in the file, or in the same household" holds
whatever the chunking. Progress counters move with each chunk's commit. A bad row never stops the job;
a failure of the job itself (the database going away) ends it with status `failed` and a row-0 error.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import BinaryIO

import asyncpg
from sqlalchemy import update

from carekit.auth.principal import Principal
from carekit.db.uow import UnitOfWork
from carekit.logging import get_logger
from carekit.runtime import ServiceRuntime
from carekit.settings import ServiceSettings
from registry.adapters.import_files import FileInfo, estimate_rows, inspect_file, iter_rows
from registry.db.tables import ImportErrorRecord, ImportJobRecord
from registry.domain.import_rows import ROW_COLUMN, HouseholdKey, Jurisdiction, RowError
from registry.domain.jurisdiction import EVERYWHERE, area_of
from registry.service.imports.store import ChunkRace, StoredChunk, store_chunk
from registry.service.imports.validate import (
    ChunkChecker,
    ChunkResult,
    JobContext,
    build_checker,
    check_in_worker,
    init_worker,
    pack_rows,
)

log = get_logger(__name__)

MAX_UPLOAD_BYTES = 1 << 30
JOB_COLUMN = "job"  # errors of the job as a whole are reported on row 0, column "job"


class UploadTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Upload:
    path: Path
    sha256: str
    size: int


def save_upload(source: BinaryIO, directory: Path | None = None) -> Upload:
    """Copy an upload to a private temporary file (mode 0600), hashing it on the way."""
    digest = hashlib.sha256()
    size = 0
    handle, name = tempfile.mkstemp(prefix="registry-import-", suffix=".upload", dir=directory)
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            while block := source.read(1 << 20):
                size += len(block)
                if size > MAX_UPLOAD_BYTES:
                    raise UploadTooLarge
                digest.update(block)
                out.write(block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Upload(path, digest.hexdigest(), size)


async def create_job(uow: UnitOfWork, principal: Principal, file_name: str, upload: Upload) -> tuple[ImportJobRecord,
                                                                                                     FileInfo]:
    """Check the file (FieldError: not a CSV/XLSX file with known columns) and write the queued job."""
    info = await asyncio.to_thread(inspect_file, upload.path)
    job = ImportJobRecord(
        id=uuid.uuid4(), file_name=file_name[:255] or "upload", file_sha256=upload.sha256, file_format=info.format,
        status="queued", region=area_of(principal) or "", created_by=principal.sub,
    )
    uow.session.add(job)
    await uow.commit()
    await uow.session.refresh(job)  # created_at, set by the database
    return job, info


@dataclass
class RunnerOptions:
    chunk_rows: int = 20_000
    workers: int = max(1, min(2, os.cpu_count() or 1))
    writers: int = 2
    process_threshold_bytes: int = 4 << 20  # smaller files are checked inline, without worker processes
    max_retries: int = 3


@dataclass
class JobStats:
    rows: int = 0
    failed: int = 0
    persons_created: int = 0
    persons_unchanged: int = 0
    households_created: int = 0
    facts_stored: int = 0
    events_recorded: int = 0  # life events given on the rows (death, disability, …), not entry events
    check_seconds: float = 0.0
    store_seconds: float = 0.0
    chunks: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    statements: dict[str, float] = field(default_factory=dict)  # seconds per storing statement


class ImportRunner:
    """Runs import jobs as background tasks of the service process."""

    def __init__(self, runtime: ServiceRuntime, settings: ServiceSettings,
                 options: RunnerOptions | None = None) -> None:
        self.runtime = runtime
        self.settings = settings
        self.options = options or RunnerOptions()
        self._tasks: dict[uuid.UUID, asyncio.Task] = {}
        self._inline: ChunkChecker | None = None
        self.last_stats: dict[uuid.UUID, JobStats] = {}  # of the running jobs (logged when a job ends)

    def start(self, job_id: uuid.UUID, path: Path, info: FileInfo, today: date,
              jurisdiction: Jurisdiction) -> asyncio.Task:
        task = asyncio.create_task(self._run(job_id, path, info, today, jurisdiction), name=f"import-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))
        return task

    async def wait(self, job_id: uuid.UUID) -> None:
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.shield(task)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(BaseException):
                await task

    async def _run(self, job_id: uuid.UUID, path: Path, info: FileInfo, today: date,
                   jurisdiction: Jurisdiction) -> None:
        stats = JobStats()
        self.last_stats[job_id] = stats
        started = time.perf_counter()
        big = False
        try:
            actor = await self._set_running(job_id)
            context = JobContext(info.header, today, jurisdiction)
            size = await asyncio.to_thread(lambda: path.stat().st_size)
            big = size >= self.options.process_threshold_bytes
            await self._update(job_id, total=await asyncio.to_thread(estimate_rows, path, info))
            async with self._checking(big) as check:
                await self._pipeline(job_id, actor, path, info, context, check, stats, big)
            await self._finish(job_id, "completed")
            self._log_stats("import finished", job_id, stats, started, big)
        except asyncio.CancelledError:
            self._log_stats("import interrupted", job_id, stats, started, big)
            await self._fail(job_id, "The import was interrupted (the service stopped).", "导入被中断（服务已停止）。")
            raise
        except Exception as exc:  # noqa: BLE001 - the job fails, the service goes on
            log.exception("import failed", job_id=str(job_id))
            await self._fail(job_id, f"The import stopped: {type(exc).__name__}: {exc}"[:500],
                             "导入因内部错误而中止，已导入的行保持不变。")
        finally:
            stats.timings["total"] = time.perf_counter() - started
            self.last_stats.pop(job_id, None)
            with contextlib.suppress(OSError):
                os.unlink(path)  # the upload (personal data): never left behind

    def _log_stats(self, event: str, job_id: uuid.UUID, stats: JobStats, started: float, big: bool) -> None:
        log.info(event, job_id=str(job_id), rows=stats.rows, failed=stats.failed,
                 persons_created=stats.persons_created, persons_unchanged=stats.persons_unchanged,
                 households_created=stats.households_created, facts_stored=stats.facts_stored,
                 events_recorded=stats.events_recorded,
                 chunks=stats.chunks, seconds=round(time.perf_counter() - started, 3),
                 check_seconds=round(stats.check_seconds, 3), store_seconds=round(stats.store_seconds, 3),
                 read_seconds=round(stats.timings.get("read", 0.0), 3), workers=self.options.workers if big else 0,
                 writers=self.options.writers,
                 statements={k: round(v, 2) for k, v in sorted(stats.statements.items(), key=lambda i: -i[1])})

    @contextlib.asynccontextmanager
    async def _checking(self, big: bool) -> AsyncIterator:
        """A function (seq, rows, context) -> awaitable ChunkResult: worker processes or inline."""
        if big and self.options.workers > 1:
            pool: Executor = ProcessPoolExecutor(self.options.workers, mp_context=get_context("spawn"),
                                                 initializer=init_worker, initargs=(self.settings,))
            loop = asyncio.get_running_loop()

            def check(seq: int, rows: list, context: JobContext, continued: frozenset) -> asyncio.Future:
                return loop.run_in_executor(pool, check_in_worker, seq, pack_rows(rows), context, continued)

            try:
                yield check
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
        else:
            if self._inline is None:
                self._inline = await asyncio.to_thread(build_checker, self.settings)
            inline = self._inline

            def check(seq: int, rows: list, context: JobContext, continued: frozenset) -> asyncio.Future:
                return asyncio.ensure_future(asyncio.to_thread(inline.check, seq, rows, context, continued))

            yield check

    async def _pipeline(self, job_id: uuid.UUID, actor: str, path: Path, info: FileInfo, context: JobContext,
                        check, stats: JobStats, big: bool) -> None:  # noqa: ANN001
        options = self.options
        started = time.perf_counter()
        chunks = _chunks(iter_rows(path, info), info, options.chunk_rows)
        in_flight: asyncio.Queue = asyncio.Queue(maxsize=options.workers + 1)
        to_store: asyncio.Queue = asyncio.Queue(maxsize=options.writers + 1)
        seen: dict[int, int] = {}  # blind index (first 64 bits) -> first row with it
        earlier_households: set[int] = set()  # hashes of the household keys of the chunks read so far
        committed = _Commits()

        async def read() -> None:
            seq = rows_read = 0
            reading = time.perf_counter()
            while True:
                item = await asyncio.to_thread(next, chunks, None)
                if item is None:
                    stats.timings["read"] = time.perf_counter() - reading
                    await self._update(job_id, total=rows_read)  # the estimate made exact
                    break
                rows, keys = item
                rows_read += len(rows)
                continued = frozenset(key for key in keys if hash(key) in earlier_households)
                earlier_households.update(hash(key) for key in keys)
                await in_flight.put(check(seq, rows, context, continued))
                seq += 1
            await in_flight.put(None)

        async def dedupe() -> None:
            while (future := await in_flight.get()) is not None:
                result: ChunkResult = await future
                stats.check_seconds += result.seconds
                await to_store.put((result, _duplicates(result, seen)))
            for _ in range(options.writers):
                await to_store.put(None)

        async def write() -> None:
            while (item := await to_store.get()) is not None:
                result, duplicates = item
                if result.needs_earlier:
                    await committed.wait_for_all_before(result.seq)
                stored = await self._store(job_id, actor, context.today, result, duplicates)
                stats.chunks += 1
                stats.rows += result.rows
                stats.failed += stored.failed_rows
                stats.persons_created += stored.persons_created
                stats.persons_unchanged += stored.persons_unchanged
                stats.households_created += stored.households_created
                stats.facts_stored += stored.facts_stored
                stats.events_recorded += stored.events_recorded
                await committed.add(result.seq)
                if stats.chunks % 10 == 0:
                    self._log_stats("import progress", job_id, stats, started, big)

        tasks = [asyncio.create_task(read()), asyncio.create_task(dedupe())]
        tasks += [asyncio.create_task(write()) for _ in range(options.writers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _store(self, job_id: uuid.UUID, actor: str, today: date, result: ChunkResult,
                     duplicates: list[RowError]) -> StoredChunk:
        for attempt in range(self.options.max_retries + 1):
            started = time.perf_counter()
            try:
                async with self.runtime.uow() as uow:
                    stats = self.last_stats.get(job_id)
                    stored = await store_chunk(uow, result, job_id=job_id, actor=actor, today=today,
                                               duplicates=duplicates, service_name=self.settings.service_name,
                                               timings=stats.statements if stats is not None else None)
                    committing = time.perf_counter()
                    await uow.commit()
                    if stats is not None:
                        stats.statements["commit"] = stats.statements.get("commit", 0.0) + (
                            time.perf_counter() - committing)
                stats = self.last_stats.get(job_id)
                if stats is not None:
                    stats.store_seconds += time.perf_counter() - started
                return stored
            except Exception as exc:  # noqa: BLE001
                if attempt == self.options.max_retries or not _retryable(exc):
                    raise
                log.warning("import chunk retried", job_id=str(job_id), chunk=result.seq, error=str(exc))
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _set_running(self, job_id: uuid.UUID) -> str:
        async with self.runtime.uow() as uow:
            job = await uow.session.get(ImportJobRecord, job_id)
            if job is None:
                raise LookupError(f"no import job {job_id}")
            job.status = "running"
            actor = job.created_by
            await uow.commit()
        return actor

    async def _update(self, job_id: uuid.UUID, **values: object) -> None:
        async with self.runtime.uow() as uow:
            await uow.session.execute(update(ImportJobRecord).where(ImportJobRecord.id == job_id).values(**values))
            await uow.commit()

    async def _finish(self, job_id: uuid.UUID, status: str) -> None:
        await self._update(job_id, status=status, finished_at=datetime.now(UTC))

    async def _fail(self, job_id: uuid.UUID, message: str, message_zh: str) -> None:
        with contextlib.suppress(Exception):
            async with self.runtime.uow() as uow:
                uow.session.add(ImportErrorRecord(import_id=job_id, row_number=0, column=JOB_COLUMN, message=message,
                                                  message_zh=message_zh))
                await uow.session.execute(update(ImportJobRecord).where(ImportJobRecord.id == job_id).values(
                    status="failed", finished_at=datetime.now(UTC)))
                await uow.commit()


class _Commits:
    """Which chunks have committed, to let a chunk wait for all earlier ones."""

    def __init__(self) -> None:
        self._done: set[int] = set()
        self._lowest_missing = 0
        self._changed = asyncio.Condition()

    async def add(self, seq: int) -> None:
        async with self._changed:
            self._done.add(seq)
            while self._lowest_missing in self._done:
                self._done.discard(self._lowest_missing)
                self._lowest_missing += 1
            self._changed.notify_all()

    async def wait_for_all_before(self, seq: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._lowest_missing >= seq)


def _duplicates(result: ChunkResult, seen: dict[int, int]) -> list[RowError]:
    """Rows whose ID number an earlier row of the file already has (checked in file order)."""
    found = []
    for row, index in result.person_indexes:
        key = int(index[:16], 16)
        first = seen.setdefault(key, row)
        if first != row:
            found.append(RowError(row, "id_number", f"This ID number is already on row {first} of the file.",
                                  f"该公民身份号码与文件第{first}行重复。"))
    return found


def _chunks(rows: Iterator[tuple[int, list[str]]], info: FileInfo, size: int) -> Iterator[tuple[list, set]]:
    """Runs of about `size` rows, cut only where the household (division code, 户编号) changes, with the
    household keys in each."""
    positions = info.header.positions
    division, ref = positions["division_code"], positions["household_ref"]
    chunk: list = []
    keys: set[HouseholdKey] = set()
    last = None
    for number, cells in rows:
        key = HouseholdKey(cells[division].strip() if division < len(cells) else "",
                           cells[ref].strip() if ref < len(cells) else "")
        if len(chunk) >= size and key != last:
            yield chunk, keys
            chunk, keys = [], set()
        chunk.append((number, cells))
        keys.add(key)
        last = key
    if chunk:
        yield chunk, keys


_RETRYABLE = (ChunkRace, asyncpg.DeadlockDetectedError, asyncpg.SerializationError, asyncpg.ForeignKeyViolationError)


def _retryable(exc: BaseException | None) -> bool:
    """A conflict with a concurrent writer (maybe wrapped by SQLAlchemy): worth running the chunk again."""
    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, _RETRYABLE):
            return True
        exc = exc.__cause__ or getattr(exc, "orig", None)
    return False


def jurisdiction_of(principal: Principal) -> Jurisdiction:
    area = area_of(principal)
    return Jurisdiction(area or None, area == EVERYWHERE)


__all__ = ["ROW_COLUMN", "ImportRunner", "RunnerOptions", "Upload", "UploadTooLarge", "create_job",
           "jurisdiction_of", "save_upload"]
