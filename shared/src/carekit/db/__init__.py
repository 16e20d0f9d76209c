from carekit.db.engine import Database, asyncpg_dsn
from carekit.db.uow import UnitOfWork

__all__ = ["Database", "UnitOfWork", "asyncpg_dsn"]
