"""Open an Optuna storage from a URL, failing fast with one readable sentence.

Every caller (the runner, notebooks 05-11, the workers, the tests) opens its storage here. A typo, a wrong
password or a server that is down ends in a :class:`StorageError` that names the URL (password masked) and
says what to do, within seconds, never a hang or a 40-line SQLAlchemy traceback.

URLs: any SQLAlchemy URL Optuna's ``RDBStorage`` accepts (``postgresql+psycopg2://...``,
``mysql+pymysql://...``, ``sqlite:///file.db``), or ``journal:PATH`` for Optuna's journal file storage.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend

JOURNAL_PREFIX = "journal:"
CONNECT_TIMEOUT_S = 5  # per connection attempt; a worker that can't reach its storage says so quickly
RDB_BACKENDS = {"postgresql", "mysql", "sqlite"}
URL_EXAMPLES = (
    "postgresql+psycopg2://USER:PASSWORD@HOST:5432/DATABASE, sqlite:///path/to/study.db "
    "or journal:path/to/study.log"
)


class StorageError(RuntimeError):
    """The storage URL is malformed or its server can't be used; the message says which and what to do."""


def masked(url: str) -> str:
    """The URL with its password replaced by ***, safe to print in logs and error messages."""
    if url.startswith(JOURNAL_PREFIX):
        return url
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparseable: hide everything between '://' and '@'
        head, sep, tail = url.partition("://")
        return head + sep + ("***@" + tail.rsplit("@", 1)[1] if "@" in tail else tail)


def journal_path(url: str) -> Path:
    """The file behind ``journal:PATH`` (``journal:///abs/path`` works too)."""
    path = url[len(JOURNAL_PREFIX) :]
    path = path[2:] if path.startswith("//") else path
    if not path:
        raise StorageError(f"Storage URL {url!r} names no file. Write e.g. journal:studies/demo.log")
    return Path(path)


def check_url(url: str):
    """Parse an RDB storage URL and return SQLAlchemy's URL object, or raise one readable StorageError."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    if not isinstance(url, str) or not url.strip():
        raise StorageError(f"Storage URL is empty. Expected e.g. {URL_EXAMPLES}.")
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StorageError(
            f"Malformed storage URL {masked(url)!r} ({exc}). Expected e.g. {URL_EXAMPLES}."
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgres":
        raise StorageError(
            f"Storage URL {masked(url)!r}: write 'postgresql://', not 'postgres://' (SQLAlchemy 2)."
        )
    if backend not in RDB_BACKENDS:
        raise StorageError(
            f"Storage URL {masked(url)!r} uses {backend!r}, which Optuna can't store a study in. "
            f"Expected e.g. {URL_EXAMPLES}."
        )
    if backend != "sqlite" and (not parsed.host or not parsed.database):
        raise StorageError(
            f"Storage URL {masked(url)!r} needs a host and a database name, e.g. "
            "postgresql+psycopg2://USER:PASSWORD@HOST:5432/DATABASE."
        )
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise StorageError(
            f"Storage URL {masked(url)!r}: SQLAlchemy has no driver {parsed.drivername!r}. "
            "For PostgreSQL use postgresql+psycopg2:// (psycopg2-binary is a course dependency)."
        ) from None
    return parsed


def explain_storage_error(url: str, exc: Exception, doing: str = "open") -> str:
    """Turn a driver's error into one sentence naming the likely cause and the fix."""
    from sqlalchemy.engine import make_url

    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    detail = " ".join(line.strip() for line in detail if line.strip() and not line.startswith("(Background"))
    low = detail.lower()
    where = make_url(url)
    server = f"{where.host}:{where.port or 'default port'}" if where.host else masked(url)
    if "password authentication failed" in low or "access denied" in low:
        cause = f"wrong user name or password for {where.username!r} on {server}"
    elif "does not exist" in low and "database" in low:
        cause = f"database {where.database!r} does not exist on {server}; create it first (createdb)"
    elif any(
        s in low
        for s in ("could not translate host name", "name or service not known", "nodename nor servname")
    ):
        cause = f"host {where.host!r} not found (DNS); check the host name"
    elif any(
        s in low for s in ("timeout expired", "timed out", "no route to host", "network is unreachable")
    ):
        cause = (
            f"no answer from {server} within the connect timeout; check that the host is up and the port open"
        )
    elif "connection refused" in low:
        cause = f"nothing listens on {server}; start the database server or fix the port"
    elif "ssl negotiation" in low or "closed the connection unexpectedly" in low:
        cause = f"what answers on {server} is not a PostgreSQL server; check the host and port"
    elif "database is locked" in low:
        cause = "the SQLite file is locked by another writer; use PostgreSQL or a journal file for parallel workers"
    else:
        cause = "the database reported an error"
    return f"Cannot {doing} storage {masked(url)!r}: {cause}. Driver said: {detail}"


def make_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    max_retry: int | None = None,
    connect_timeout: int = CONNECT_TIMEOUT_S,
) -> BaseStorage:
    """Open the storage behind ``url`` and check that it answers; raise StorageError otherwise.

    ``heartbeat_interval``/``grace_period`` (seconds) make a running trial whose worker died turn FAIL once
    its heartbeat is ``grace_period`` old; ``max_retry`` then re-queues such a trial (same parameters) up to
    that many times. Heartbeats need an RDB storage: the journal file storage has none.
    """
    if url.startswith(JOURNAL_PREFIX):
        if heartbeat_interval or max_retry is not None:
            raise StorageError(
                "Heartbeats and retries of dead workers' trials need an RDB storage (PostgreSQL, MySQL or "
                f"SQLite); {url!r} is a journal file, which has no heartbeat. Drop --heartbeat/--retry or use one."
            )
        path = journal_path(url)
        if not path.parent.exists():
            raise StorageError(
                f"Journal file {str(path)!r}: folder {str(path.parent)!r} does not exist; create it."
            )
        return JournalStorage(JournalFileBackend(str(path)))

    parsed = check_url(url)
    backend = parsed.get_backend_name()
    connect_args = (
        {"timeout": connect_timeout} if backend == "sqlite" else {"connect_timeout": connect_timeout}
    )
    if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).expanduser().resolve().parent
        if not folder.exists():
            raise StorageError(
                f"SQLite file {parsed.database!r}: folder {str(folder)!r} does not exist; create it."
            )
    if max_retry is not None and not heartbeat_interval:
        raise StorageError("Retrying dead workers' trials needs a heartbeat: set heartbeat_interval too.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        callback = RetryHeartbeatStaleTrialCallback(max_retry=max_retry) if max_retry is not None else None
    return _open_rdb_storage(
        url,
        engine_kwargs={"connect_args": connect_args, "pool_pre_ping": True},
        heartbeat_interval=heartbeat_interval,
        grace_period=grace_period,
        heartbeat_stale_trial_callback=callback,
    )


SCHEMA_RACE_MARKERS = ("already exists", "duplicate key")


def _open_rdb_storage(url: str, attempts: int = 4, **kwargs) -> RDBStorage:
    """RDBStorage, retried when several workers create the tables of a brand-new database at once.

    Every worker's RDBStorage runs CREATE TABLE on first contact; when 4 start together on an empty
    PostgreSQL database, all but one lose that race ("relation ... already exists"). The loser just retries:
    by then the tables exist. Any other error becomes one readable StorageError.
    """
    from sqlalchemy.exc import DBAPIError

    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(url, **kwargs)
        except ImportError as exc:  # e.g. plain postgresql:// picks psycopg 3, which is not installed
            raise StorageError(
                f"{masked(url)}: the database driver is missing ({exc}). "
                "Use postgresql+psycopg2://user:password@host/db (psycopg2 comes with the course)."
            ) from None
        except DBAPIError as exc:
            racing = any(marker in str(exc.orig).lower() for marker in SCHEMA_RACE_MARKERS)
            if not racing or attempt == attempts - 1:
                raise StorageError(explain_storage_error(url, exc)) from None
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")
