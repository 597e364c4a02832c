"""The state database: one SQLite file under the root, WAL mode, short transactions.

Each runtime area (containers, networks, volumes, ...) declares its own tables with :func:`register_schema`;
the DDL runs once per database (idempotent ``CREATE ... IF NOT EXISTS``). Stdlib only: supervisors use it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

DB_NAME = "state.db"
_SCHEMAS: dict[str, str] = {}
_BUSY_TIMEOUT_S = 30.0


def register_schema(area: str, ddl: str) -> None:
    """Declare the tables of one area. Call at import time of the module that owns them."""
    _SCHEMAS[area] = ddl


_WRITERS: dict[str, threading.Lock] = {}
_WRITERS_LOCK = threading.Lock()


class StateDB:
    """A connection per thread to ``<root>/state.db``; ``transaction()`` serialises writers."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / DB_NAME
        self._local = threading.local()
        self._applied: set[str] = set()
        self._lock = threading.Lock()
        # Writers of this process (every StateDB of this file) queue here: a thread is woken on release,
        # where SQLite's busy handler sleeps and retries (1, 2, 5, 10, 20... ms) and so stretched the
        # parallel creates and removals of `up` and `down`. Other processes still meet the busy handler.
        with _WRITERS_LOCK:
            self._writer = _WRITERS.setdefault(str(self.path.absolute()), threading.Lock())

    def connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.root.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        self._ensure_schemas(conn)
        return conn

    def _ensure_schemas(self, conn: sqlite3.Connection) -> None:
        pending = [a for a in _SCHEMAS if a not in self._applied]
        if not pending:
            return
        with self._lock:
            for area in pending:
                if area in self._applied:
                    continue
                conn.executescript(_SCHEMAS[area])
                self._applied.add(area)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: one writer at a time across processes, rolled back on error."""
        conn = self.connect()
        with self._writer:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @contextlib.contextmanager
    def family_lock(self, family: str) -> Iterator[None]:
        """An exclusive fcntl lock per object family (containers, volumes, ...) across processes.

        For multi-step changes that span the database and the file system (a container's directory and its
        row), so two CLI processes never interleave them; SQLite's own locking covers single statements.
        """
        from runtime import filelock

        with filelock.exclusive(self.root / "locks" / f"{family}.lock"):
            yield

    def query(self, sql: str, params: tuple[object, ...] | dict[str, object] = ()) -> list[sqlite3.Row]:
        return self.connect().execute(sql, params).fetchall()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
