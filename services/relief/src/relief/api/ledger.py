"""The ledger for fund managers (transfers) and auditors (accounts, journal, invariant check)."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, not_found
from relief.api.deps import FundManager, LedgerReader, ledger_problem
from relief.domain.ledger import LedgerError, Transfer, TransferKind
from relief.service.invariant import check_ledger
from relief.service.ledger import create_transfer

router = APIRouter(tags=["ledger"], responses=PROBLEM_RESPONSES)

ACCOUNT_CODE = r"^[a-z_]+:[a-z0-9_:.-]{1,60}$"


class AccountPublic(BaseModel):
    code: str
    kind: str
    name_zh: str
    name_en: str
    debits_must_not_exceed_credits: bool
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    available: int


class TransferBase(BaseModel):
    debit_account: str = Field(pattern=ACCOUNT_CODE, max_length=64)
    credit_account: str = Field(pattern=ACCOUNT_CODE, max_length=64)
    amount_fen: int = Field(gt=0, le=10**13, description="Integer fen (1 yuan = 100 fen), positive")
    kind: Literal["posted", "pending", "post_pending", "void_pending"] = "posted"
    pending_id: uuid.UUID | None = None
    code: str = Field(default="transfer", pattern=r"^[a-z_]{1,32}$")
    reference: str | None = Field(default=None, max_length=128)


class TransferCreate(TransferBase):
    id: uuid.UUID = Field(description="Client-supplied id: re-sending the same id and body is harmless")


class TransferPublic(TransferBase):
    id: uuid.UUID
    seq: int | None = None
    created_at: datetime | None = None


class InvariantPublic(BaseModel):
    ok: bool
    accounts: int
    transfers: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    problems: list[str]


@router.get("/v1/ledger/accounts", response_model=list[AccountPublic], summary="Every ledger account and balance")
async def list_accounts(principal: LedgerReader, uow: UowDep) -> list[AccountPublic]:
    rows = await uow.session.execute(
        text(
            "SELECT *, credits_posted - debits_posted - debits_pending AS available FROM ledger_accounts ORDER BY code"
        )
    )
    return [AccountPublic.model_validate(dict(r._mapping)) for r in rows]


@router.post(
    "/v1/ledger/transfers",
    response_model=TransferPublic,
    status_code=201,
    summary="Create a transfer (idempotent on its id); 200 when it already existed unchanged",
)
async def create_ledger_transfer(
    body: TransferCreate, principal: FundManager, uow: UowDep, response: Response
) -> TransferPublic:
    transfer = Transfer(
        str(body.id),
        body.debit_account,
        body.credit_account,
        body.amount_fen,
        TransferKind(body.kind),
        str(body.pending_id) if body.pending_id else None,
        body.code,
        body.reference,
    )
    try:
        result = await create_transfer(uow.session, transfer)
    except LedgerError as exc:
        raise ledger_problem(exc) from exc
    await uow.commit()
    if not result.created:
        response.status_code = 200
    return await _read_transfer(uow, body.id)


async def _read_transfer(uow: UowDep, transfer_id: uuid.UUID) -> TransferPublic:
    row = (
        await uow.session.execute(
            text(
                "SELECT id, seq, debit_account, credit_account, amount AS amount_fen, kind, pending_id, code, "
                "reference, "
                "created_at FROM ledger_transfers WHERE id = :id"
            ),
            {"id": transfer_id},
        )
    ).first()
    if row is None:
        raise not_found("transfer", "转账")
    return TransferPublic.model_validate(dict(row._mapping))


@router.get("/v1/ledger/transfers/{transfer_id}", response_model=TransferPublic, summary="One transfer")
async def get_ledger_transfer(transfer_id: uuid.UUID, principal: LedgerReader, uow: UowDep) -> TransferPublic:
    return await _read_transfer(uow, transfer_id)


@router.get(
    "/v1/ledger/accounts/{code}/transfers",
    response_model=list[TransferPublic],
    summary="An account's journal in order, after sequence number `after`",
)
async def account_transfers(
    code: str,
    principal: LedgerReader,
    uow: UowDep,
    after: Annotated[int, Query(ge=0, description="Sequence number to continue after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[TransferPublic]:
    rows = await uow.session.execute(
        text(
            "SELECT id, seq, debit_account, credit_account, amount AS amount_fen, kind, pending_id, code, "
            "reference, "
            "created_at FROM ledger_transfers WHERE (debit_account = :c OR credit_account = :c) AND seq > :after "
            "ORDER BY seq LIMIT :limit"
        ),
        {"c": code, "after": after, "limit": limit},
    )
    return [TransferPublic.model_validate(dict(r._mapping)) for r in rows]


@router.get(
    "/v1/ledger/invariant",
    response_model=InvariantPublic,
    summary="Prove debits = credits and every balance = the replay of its transfers",
)
async def ledger_invariant(principal: LedgerReader, uow: UowDep) -> InvariantPublic:
    report = await check_ledger(uow.session)
    return InvariantPublic(**report.__dict__)
