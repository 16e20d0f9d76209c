"""The ledger for fund managers (transfers) and auditors (accounts, journal, invariant check)."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from carekit.auth.principal import Principal
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, not_found
from relief.api.deps import FundManager, LedgerReader, ledger_problem, scope_region, sees_region
from relief.domain.ledger import LedgerError, Transfer, TransferKind
from relief.service.invariant import check_ledger
from relief.service.ledger import create_transfer

router = APIRouter(tags=["ledger"], responses=PROBLEM_RESPONSES)

# fund codes of the policy library are upper case (fund:FP-REWARD), regional accounts end in a region code
ACCOUNT_CODE = r"^[a-z_]+:[A-Za-z0-9_:.-]{1,60}$"
MAX_SEQ = 2**63 - 1


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


class TransferPublic(BaseModel):
    """A transfer as stored (the request's patterns are no promise about what the journal holds)."""

    id: uuid.UUID
    debit_account: str
    credit_account: str
    amount_fen: int
    kind: str
    pending_id: uuid.UUID | None = None
    code: str
    reference: str | None = None
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


@router.get("/v1/ledger/accounts", response_model=list[AccountPublic], summary="The ledger accounts of your region")
async def list_accounts(principal: LedgerReader, uow: UowDep) -> list[AccountPublic]:
    """A fund's account belongs to the fund's region; income and expense accounts to the region of the
    funds they feed or pay from."""
    rows = await uow.session.execute(
        text(
            "SELECT *, credits_posted - debits_posted - debits_pending AS available FROM ledger_accounts ORDER BY code"
        )
    )
    return [AccountPublic.model_validate(dict(r._mapping)) for r in rows if sees_region(principal, r.region)]


async def _account_regions(uow: UowDep, codes: list[str]) -> dict[str, str | None]:
    rows = await uow.session.execute(
        text("SELECT code, region FROM ledger_accounts WHERE code = ANY(:codes)"), {"codes": codes}
    )
    return {r.code: r.region for r in rows}


async def _require_accounts(uow: UowDep, principal: Principal, codes: list[str]) -> None:
    """An account outside the caller's region is refused exactly as one that does not exist."""
    regions = await _account_regions(uow, codes)
    unseen = [c for c in codes if c not in regions or not sees_region(principal, regions[c])]
    if unseen:
        raise ledger_problem(
            LedgerError(
                "unknown-account", f"No such account: {', '.join(unseen)}.", f"账户不存在：{'、'.join(unseen)}。"
            )
        )


@router.post(
    "/v1/ledger/transfers",
    response_model=TransferPublic,
    status_code=201,
    summary="Create a transfer (idempotent on its id); 200 when it already existed unchanged",
)
async def create_ledger_transfer(
    body: TransferCreate, principal: FundManager, uow: UowDep, response: Response
) -> TransferPublic:
    await _require_accounts(uow, principal, [body.debit_account, body.credit_account])
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
    return await _read_transfer(uow, principal, body.id)


_TRANSFER_COLUMNS = (
    "t.id, t.seq, t.debit_account, t.credit_account, t.amount AS amount_fen, t.kind, t.pending_id, t.code, "
    "t.reference, t.created_at"
)


async def _read_transfer(uow: UowDep, principal: Principal, transfer_id: uuid.UUID) -> TransferPublic:
    """A transfer is seen by whoever sees either of its accounts."""
    row = (
        await uow.session.execute(
            text(
                f"SELECT {_TRANSFER_COLUMNS}, d.region AS debit_region, c.region AS credit_region "
                "FROM ledger_transfers t JOIN ledger_accounts d ON d.code = t.debit_account "
                "JOIN ledger_accounts c ON c.code = t.credit_account WHERE t.id = :id"
            ),
            {"id": transfer_id},
        )
    ).first()
    if row is None or not (sees_region(principal, row.debit_region) or sees_region(principal, row.credit_region)):
        raise not_found("transfer", "转账")
    return TransferPublic.model_validate(dict(row._mapping))


@router.get("/v1/ledger/transfers/{transfer_id}", response_model=TransferPublic, summary="One transfer")
async def get_ledger_transfer(transfer_id: uuid.UUID, principal: LedgerReader, uow: UowDep) -> TransferPublic:
    return await _read_transfer(uow, principal, transfer_id)


@router.get(
    "/v1/ledger/accounts/{code}/transfers",
    response_model=list[TransferPublic],
    summary="An account's journal in order, after sequence number `after`",
)
async def account_transfers(
    code: Annotated[str, Path(max_length=64)],
    principal: LedgerReader,
    uow: UowDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="Sequence number to continue after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[TransferPublic]:
    regions = await _account_regions(uow, [code])
    if code not in regions or not sees_region(principal, regions[code]):
        raise not_found("account", "账户")
    rows = await uow.session.execute(
        text(
            f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfers t "
            "WHERE (t.debit_account = :c OR t.credit_account = :c) AND t.seq > :after ORDER BY t.seq LIMIT :limit"
        ),
        {"c": code, "after": after, "limit": limit},
    )
    return [TransferPublic.model_validate(dict(r._mapping)) for r in rows]


@router.get(
    "/v1/ledger/invariant",
    response_model=InvariantPublic,
    summary="Prove debits = credits and every balance of your region = the replay of its transfers",
)
async def ledger_invariant(principal: LedgerReader, uow: UowDep) -> InvariantPublic:
    report = await check_ledger(uow.session, scope_region(principal))
    return InvariantPublic(**report.__dict__)
