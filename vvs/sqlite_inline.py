"""SQLite for the async engine without a thread: statements run inline on the event loop.

aiosqlite runs every statement in a thread of its own and wakes the event loop with the
result: measured here, about 0.5 ms of CPU per statement through SQLAlchemy, where SQLite
itself needs a few microseconds (WAL, `synchronous=NORMAL`: a commit does not wait for the
disk). This adapter gives SQLAlchemy's async engine plain `sqlite3` calls instead.

A turn's hot statements go further (`Prepared`, `vvs.turnend`): compiled once from their
Core statements, then run straight on sqlite3 with SQLAlchemy's own type processing, which
skips SQLAlchemy's execution (about 60 µs of CPU a statement, against a few for sqlite3).

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
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import AdaptedConnection
from sqlalchemy.engine import Dialect as BaseDialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.schema import ScalarElementColumnDefault
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


Processor = Callable[[Any], Any] | None


class Prepared:
    """A Core statement compiled once for SQLite's dialect, run on a raw sqlite3 connection
    with the bind and result processing of its columns' types: the same SQL and the same
    stored forms (dates, JSON, booleans) as through SQLAlchemy, without its execution."""

    def __init__(self, statement: ClauseElement, dialect: BaseDialect,
                 keys: Sequence[str] | None = None) -> None:
        """`keys`: the values an insert or update is given (its `column_keys`); a column it
        leaves out takes its scalar default, and any other default is refused."""
        compiled = statement.compile(dialect=dialect,
                                     column_keys=list(keys) if keys is not None else None)
        assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None
        self.sql = compiled.string
        self.defaults: dict[str, Any] = {}
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            default = column.default if column in compiled.insert_prefetch else column.onupdate
            if not isinstance(default, ScalarElementColumnDefault):
                raise ValueError(f"{column.key}: give a value (only scalar defaults are taken)")
            self.defaults[column.key] = default.arg
        self.binds = [(name, _bind(compiled.binds[name].type, dialect))
                      for name in compiled.positiontup]
        columns = getattr(statement, "exported_columns", ())
        self.results = [_result(column.type, dialect) for column in columns]

    def execute(self, connection: sqlite3.Connection, values: Mapping[str, Any]
                ) -> sqlite3.Cursor:
        params = []
        for name, process in self.binds:
            value = values[name] if name in values else self.defaults[name]
            params.append(value if process is None else process(value))
        return connection.execute(self.sql, params)

    def rows(self, cursor: sqlite3.Cursor) -> list[tuple[Any, ...]]:
        """The cursor's rows, each value read back as its column's type."""
        return [tuple(value if process is None else process(value)
                      for process, value in zip(self.results, row, strict=True))
                for row in cursor.fetchall()]


def _bind(kind: Any, dialect: BaseDialect) -> Processor:
    return cast(Processor, kind.dialect_impl(dialect).bind_processor(dialect))


def _result(kind: Any, dialect: BaseDialect) -> Processor:
    return cast(Processor, kind.dialect_impl(dialect).result_processor(dialect, None))


_PREPARED: weakref.WeakKeyDictionary[
    BaseDialect, dict[tuple[ClauseElement, tuple[str, ...] | None], Prepared]
] = weakref.WeakKeyDictionary()


def prepared(dialect: BaseDialect, statement: ClauseElement,
             keys: Sequence[str] | None = None) -> Prepared:
    """`statement` prepared for `dialect` (an engine's), compiled at its first use only."""
    cache = _PREPARED.setdefault(dialect, {})
    key = (statement, tuple(keys) if keys is not None else None)
    found = cache.get(key)
    if found is None:
        found = cache[key] = Prepared(statement, dialect, keys)
    return found
