"""Database access: one engine per process, created lazily after gunicorn forks.

A connection pool inherited across fork shares sockets between processes and
corrupts both, so the engine is tied to the pid that made it and rebuilt when a
forked child first asks for it.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (or omits)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record):
    # WAL lets the web and worker processes of a service read while the other writes;
    # the busy timeout makes a writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn):
    # pysqlite's own transaction handling defers BEGIN until the first write, which
    # lets two transactions both read and then deadlock upgrading; BEGIN IMMEDIATE
    # takes the write lock up front and waits on busy_timeout instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str, echo: bool = False):
        self.url = normalise_url(url)
        self.echo = echo
        self._engine: Engine | None = None
        self._sessionmaker: sessionmaker | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql")

    @property
    def engine(self) -> Engine:
        if self._engine is None or self._pid != os.getpid():
            with self._lock:
                if self._engine is None or self._pid != os.getpid():
                    self._build()
        return self._engine

    def _build(self) -> None:
        if self._engine is not None and self._pid != os.getpid():
            # Inherited from the parent: forget its pool without closing the parent's sockets.
            self._engine.dispose(close=False)
        if self.is_sqlite:
            path = make_url(self.url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(self.url, echo=self.echo, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "connect", lambda dbapi_conn, _r: setattr(dbapi_conn, "isolation_level", None))
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(
                self.url, echo=self.echo, pool_pre_ping=True, pool_size=5, max_overflow=10,
                pool_recycle=1800,
            )
        self._engine = engine
        self._sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)
        self._pid = os.getpid()

    def session(self) -> Session:
        self.engine  # noqa: B018 - builds the engine for this process if needed
        return self._sessionmaker()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits at the end of the block, or rolls back on error."""
        session = self.session()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
