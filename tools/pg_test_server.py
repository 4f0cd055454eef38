#!/usr/bin/env python3
"""Start and stop a throwaway PostgreSQL server on loopback, for the tests and the scaling-out benchmark.

Why a script of our own: the course's distributed tests need a *real* server (the failure modes of a shared
study, "database is locked", a dead worker's heartbeat, a wrong password, only show on one), yet CI is a fresh
machine with nothing running. This uses Debian's PostgreSQL binaries (``apt-get install postgresql``) but
not its cluster manager: the data directory is a temporary folder, the server listens on 127.0.0.1 only, and
``stop`` deletes everything. Standard library only, so it runs before the course's venv exists.

    python tools/pg_test_server.py start [--dir DIR] [--port PORT] [--durable]   # prints the storage URL
    python tools/pg_test_server.py url   [--dir DIR]
    python tools/pg_test_server.py stop  [--dir DIR]

As root, the server runs as the ``postgres`` user (``initdb`` refuses to run as root).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_DIR = Path(tempfile.gettempdir()) / "hpo-course-pg"
DEFAULT_PORT = 54329
USER = PASSWORD = DATABASE = "hpo"
STEP_TIMEOUT_S = 60  # every subprocess below is bounded; initdb takes ~2 s, a start ~1 s
# Fast, not durable: the data is thrown away at the end of the run. --durable keeps PostgreSQL's defaults
# (the benchmark uses it, so throughput numbers include real fsyncs).
UNSAFE_FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class ServerError(RuntimeError):
    """The server could not be started; the message says which step failed and what to install."""


def find_bindir() -> Path:
    """Directory holding initdb/pg_ctl: $PG_BINDIR, else Debian's newest /usr/lib/postgresql/N/bin, else PATH."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    on_path = shutil.which("initdb")
    candidates.append(str(Path(on_path).resolve().parent) if on_path else "")
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    raise ServerError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. Install Debian's server package: "
        "`apt-get install -y postgresql` (or set PG_BINDIR to the folder holding initdb)."
    )


def _as_server_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: drop to the `postgres` user that Debian's package creates."""
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ServerError("running as root but `runuser` is missing: cannot drop to the postgres user")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServerError(
            "running as root but there is no `postgres` user: `apt-get install -y postgresql` creates it"
        ) from exc
    return [runuser, "-u", "postgres", "--", *cmd]


def _run(step: str, cmd: list[str], log: Path | None = None) -> str:
    try:
        done = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise ServerError(f"{step} did not finish within {STEP_TIMEOUT_S} s: {' '.join(cmd)}") from exc
    if done.returncode != 0:
        tail = (
            (log.read_text()[-2000:] if log and log.exists() else "")
            or done.stderr[-2000:]
            or done.stdout[-2000:]
        )
        raise ServerError(f"{step} failed (exit {done.returncode}): {tail.strip()}")
    return done.stdout


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_port(preferred: int = DEFAULT_PORT) -> int:
    if port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def storage_url(port: int) -> str:
    """The SQLAlchemy URL Optuna's RDBStorage takes (psycopg2 is the course's PostgreSQL driver)."""
    return f"postgresql+psycopg2://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"


def _state_file(root: Path) -> Path:
    return root / "server.json"


def start(root: Path = DEFAULT_DIR, port: int | None = None, durable: bool = False) -> str:
    """Create a fresh cluster under ``root``, start it on 127.0.0.1 and return its storage URL."""
    if _state_file(root).exists():
        stop(root)
    bindir = find_bindir()
    root.mkdir(parents=True, exist_ok=True)
    data, log, pwfile = root / "data", root / "server.log", root / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    root.chmod(0o700)
    _run(
        "initdb",
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ],
    )
    port = port or pick_port()
    settings = [
        "listen_addresses=127.0.0.1",
        f"port={port}",
        f"unix_socket_directories={root}",
        "max_connections=200",
    ]
    settings += [] if durable else list(UNSAFE_FAST)
    options = " ".join(f"-c {s}" for s in settings)
    _run(
        "pg_ctl start",
        [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30", "start"],
        log,
    )
    _state_file(root).write_text(json.dumps({"port": port, "bindir": str(bindir), "url": storage_url(port)}))
    _run("createdb", [str(bindir / "createdb"), "-h", str(root), "-p", str(port), "-U", USER, DATABASE], log)
    return storage_url(port)


def url(root: Path = DEFAULT_DIR) -> str:
    if not _state_file(root).exists():
        raise ServerError(f"no server started under {root}: run `python tools/pg_test_server.py start` first")
    return json.loads(_state_file(root).read_text())["url"]


def stop(root: Path = DEFAULT_DIR) -> None:
    """Stop the server (immediately: its data is disposable) and delete its folder."""
    state = _state_file(root)
    if state.exists():
        bindir = Path(json.loads(state.read_text())["bindir"])
        if (root / "data" / "postmaster.pid").exists():
            _run(
                "pg_ctl stop",
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(root / "data"),
                    "-m",
                    "immediate",
                    "-w",
                    "-t",
                    "30",
                    "stop",
                ],
            )
    shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop", "url"])
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help=f"server folder (default {DEFAULT_DIR})"
    )
    parser.add_argument("--port", type=int, default=None, help=f"TCP port (default {DEFAULT_PORT} if free)")
    parser.add_argument("--durable", action="store_true", help="keep fsync on (for benchmarks)")
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            print(start(args.dir, args.port, args.durable))
        elif args.action == "url":
            print(url(args.dir))
        else:
            stop(args.dir)
    except ServerError as exc:
        print(f"pg_test_server: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
