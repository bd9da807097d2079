"""SQLite for the async engine without a thread: statements run inline on the event loop.

aiosqlite runs every statement in a thread of its own and wakes the event loop with the
result: measured here, about 0.5 ms of CPU per statement through SQLAlchemy, where SQLite
itself needs a few microseconds (WAL, `synchronous=NORMAL`: a commit does not wait for the
disk). This adapter gives SQLAlchemy's async engine plain `sqlite3` calls instead.

The price: a statement that waits for SQLite's write lock would wait with the whole event
loop, and the holder (a task on that same loop) could never finish. So in this process
every writing transaction holds the writer lock of `vvs.db.sqlite_writer` from its start to
its end (the turn included), SQLite's own wait (`busy_timeout`) is short and only serves
other processes (an admin command), and the WAL checkpoint that waits for readers is made
not to wait (`vvs.db.scrub_wal`).
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import AdaptedConnection
from sqlalchemy.util.concurrency import await_

DRIVER = "vvsinline"
# Other processes only (an admin command's transaction lasts milliseconds): in this process
# the writer lock keeps writers from ever meeting in SQLite.
BUSY_TIMEOUT_SECONDS = 2.0


class _Cursor:
    """A DB-API cursor over sqlite3's, buffered as SQLAlchemy's async adapters are: the rows
    are fetched at execute, so a result outlives its cursor."""

    __slots__ = ("_cursor", "_rows", "description")
    server_side = False

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor
        self._rows: collections.deque[Any] = collections.deque()
        self.description: Any = None

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> None:
        # SQLAlchemy's AsyncConnection.execute insists that the driver awaited something;
        # a coroutine that returns at once costs two greenlet switches, no loop iteration
        await_(_nothing())
        if parameters is None:
            self._cursor.execute(operation)
        else:
            self._cursor.execute(operation, parameters)
        self._buffer()

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> None:
        await_(_nothing())
        self._cursor.executemany(operation, seq_of_parameters)
        self._buffer()

    def _buffer(self) -> None:
        self.description = self._cursor.description
        self._rows = collections.deque(self._cursor.fetchall() if self.description else ())

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        count = size if size is not None else self._cursor.arraysize
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    def fetchall(self) -> list[Any]:
        rows, self._rows = list(self._rows), collections.deque()
        return rows

    def setinputsizes(self, *_sizes: Any) -> None:
        return None

    async def _async_soft_close(self) -> None:
        """Called by SQLAlchemy's async results: the rows are buffered already."""

    def close(self) -> None:
        self._rows.clear()
        self._cursor.close()


async def _nothing() -> None:
    return None


class _Connection(AdaptedConnection):
    """The DB-API connection SQLAlchemy's async engine sees; `driver_connection` is sqlite3's."""

    __slots__ = ("_sqlite", "dbapi")

    def __init__(self, dbapi: _Module, connection: sqlite3.Connection) -> None:
        self.dbapi = dbapi
        self._sqlite = connection
        # what `driver_connection` returns (typed there for an async driver)
        self._connection = cast(Any, connection)

    @property
    def isolation_level(self) -> str | None:
        return self._sqlite.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._sqlite.isolation_level = cast(Any, value)  # sqlite3 checks it

    def create_function(self, *args: Any, **kw: Any) -> None:
        self._sqlite.create_function(*args, **kw)

    def cursor(self, server_side: bool = False) -> _Cursor:
        return _Cursor(self._sqlite.cursor())

    def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> _Cursor:
        cursor = self.cursor()
        cursor.execute(operation, parameters)
        return cursor

    def commit(self) -> None:
        self._sqlite.commit()

    def rollback(self) -> None:
        self._sqlite.rollback()

    def close(self) -> None:
        self._sqlite.close()

    def terminate(self) -> None:
        self._sqlite.close()


class _Module:
    """The DB-API module: sqlite3's names, connections wrapped for the async engine."""

    paramstyle = "qmark"
    has_stop = True  # `terminate` closes at once (what aiosqlite's `stop` is for)

    def __init__(self) -> None:
        for name in ("DatabaseError", "Error", "IntegrityError", "NotSupportedError",
                     "OperationalError", "ProgrammingError", "InterfaceError",
                     "InternalError", "DataError", "Warning", "sqlite_version",
                     "sqlite_version_info", "PARSE_COLNAMES", "PARSE_DECLTYPES", "Binary"):
            setattr(self, name, getattr(sqlite3, name))
        self.sqlite = sqlite3

    def connect(self, *args: Any, **kw: Any) -> _Connection:
        kw.pop("async_creator_fn", None)
        kw["timeout"] = BUSY_TIMEOUT_SECONDS
        kw["check_same_thread"] = False  # opened by the pool, used by the event loop's thread
        return _Connection(self, sqlite3.connect(*args, **kw))


class Dialect(SQLiteDialect_aiosqlite):
    """The aiosqlite dialect (SQL, types, pool) over `_Module` instead of aiosqlite."""

    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _Module()
