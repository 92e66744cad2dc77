"""Database access: one engine per process, created lazily after gunicorn forks.

A connection pool inherited across fork shares sockets between processes and
corrupts both, so the engine is tied to the pid that made it and rebuilt when a
forked child first asks for it.
"""
from __future__ import annotations

import os
import select
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, exc, text
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


# Dead pooled connections (PostgreSQL restarted, backends terminated, an idle connection cut)
# are caught at checkout without the round trip per transaction that `pool_pre_ping=True`
# cost (a SELECT 1 before every transaction; in dispatch's incident.reported profile one of
# the ~13 round trips per event that took ~12 % of the samples, bench/README.md). A pooled
# connection is pinged at checkout only when
# - its socket has something to read: a backend that is terminated or shut down (restart,
#   pg_terminate_backend, idle_session_timeout) sends a FATAL error before it closes the
#   socket, so a dead connection shows up as readable; a healthy idle one has nothing to
#   read (the pool's connections never LISTEN). One poll() system call, no round trip;
# - or it has been idle longer than PING_IF_IDLE_S: a connection cut silently (a NAT or
#   firewall dropping an idle flow) shows nothing to read, but an idle service can afford
#   the ping, and a busy one never reaches the threshold.
# A failed ping invalidates the pool as pre-ping does (its older connections are replaced
# at their next checkout) and the pool connects afresh, so the request or message at hand
# still succeeds. A connection that dies in the middle of a transaction fails that
# transaction, as it did with pre-ping: the consumer retries the message, the relay its batch.
# Simpler options are not enough on their own: pinging only idle connections misses a restart
# under traffic (every recently used connection would fail once), and pool_recycle with
# invalidation on disconnect errors fails the first request on each dead connection (a 500).
PING_IF_IDLE_S = 10.0
_LAST_USED = "servicekit.db.last_used"  # connection record info: time.monotonic() of its last checkin


def _mark_used(dbapi_connection, record):
    if dbapi_connection is not None:  # None: invalidated on the way back; its info goes with it
        record.info[_LAST_USED] = time.monotonic()


def _has_input(dbapi_connection) -> bool:
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    except Exception:  # closed already, or no socket to look at: let the ping decide
        return True
    return bool(poller.poll(0))


def _liveness_check(dialect):
    def check(dbapi_connection, record, _proxy):
        last_used = record.info.get(_LAST_USED)
        if last_used is None:
            return  # connected for this very checkout
        if time.monotonic() - last_used <= PING_IF_IDLE_S and not _has_input(dbapi_connection):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.InvalidatePoolError(f"pooled connection found dead at checkout: {error!r}") from error
    return check


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
                self.url, echo=self.echo, pool_size=5, max_overflow=10, pool_recycle=1800,
            )
            # Instead of pool_pre_ping: see PING_IF_IDLE_S above.
            event.listen(engine, "checkin", _mark_used)
            event.listen(engine, "checkout", _liveness_check(engine.dialect))
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
