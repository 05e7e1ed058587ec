"""Store fixtures: a real PostgreSQL server, SQLite files and hand-built analyses.

The PostgreSQL server is a throw-away cluster that the test session creates
with Debian's ``initdb`` in a temporary folder and starts on a free port. It
refuses to run as root, so under root it runs as the ``postgres`` system user.
"""

from __future__ import annotations

import datetime
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from _documents import HOSTILE_BUTTON, PROPERTY_ID, WEEK_1, make_insights
from ga4_button_workflows.models import (
    AnalysisRecord,
    ButtonInsights,
    Period,
)
from ga4_button_workflows.stores.sql import SQLInsightStore

WEEK_2 = Period(datetime.date(2024, 5, 8), datetime.date(2024, 5, 14))
MISSING_SERVER = "PostgreSQL server binaries not found (apt-get install postgresql)"


# --- Hand-built documents ---------------------------------------------------------


def make_record(
    analysis_id: str,
    *,
    property_id: str = PROPERTY_ID,
    period: Period = WEEK_1,
    run_id: str = "run-1",
    saved_at: datetime.datetime | None = None,
    insights: ButtonInsights | None = None,
) -> AnalysisRecord:
    """An analysis as the save activity builds it."""
    return AnalysisRecord(
        analysis_id=analysis_id,
        workflow_id=analysis_id,
        run_id=run_id,
        property_id=property_id,
        period=period,
        saved_at=saved_at
        or datetime.datetime(
            2024, 5, 8, 6, 5, 30, 123456, tzinfo=datetime.timezone.utc
        ),
        insights=insights or make_insights(property_id=property_id, period=period),
    )


@pytest.fixture(name="make_insights")
def make_insights_fixture() -> Callable[..., ButtonInsights]:
    """:func:`make_insights`, for tests."""
    return make_insights


@pytest.fixture(name="make_record")
def make_record_fixture() -> Callable[..., AnalysisRecord]:
    """:func:`make_record`, for tests."""
    return make_record


@pytest.fixture
def hostile_button() -> str:
    """A button name that would ping the channel and run a script if unescaped."""
    return HOSTILE_BUTTON


# --- PostgreSQL ---------------------------------------------------------------------


class PostgresServer:
    """A throw-away PostgreSQL cluster that tests can stop and start again.

    Args:
        bin_dir: The folder holding ``initdb``, ``pg_ctl`` and ``createdb``.
        root: A folder of its own; the data and the socket go inside.
    """

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data_dir = root / "data"
        self.socket_dir = root / "socket"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        """The URL of the ``postgres`` database."""
        return self.url_of("postgres")

    def url_of(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def initdb(self) -> None:
        """Create the cluster: trust authentication, UTF-8, no fsync."""
        self.socket_dir.mkdir()
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        self._run(
            "initdb",
            "--pgdata",
            str(self.data_dir),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.root / "server.log"),
            "--wait",
            "--timeout",
            "30",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        """Stop the server, disconnecting clients (``pg_ctl stop -m fast``)."""
        self._run(
            "pg_ctl", "--pgdata", str(self.data_dir), "--wait", "-m", "fast", "stop"
        )

    def create_database(self) -> str:
        """Create an empty database and return its URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        subprocess.run(
            [
                str(self.bin_dir / "createdb"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--username",
                "postgres",
                name,
            ],
            check=True,
            capture_output=True,
        )
        return self.url_of(name)

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.bin_dir / program), *arguments]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.root / "server.log"
            server_log = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(
                f"{program} failed ({result.returncode}): {result.stderr.strip()}\n"
                f"{server_log[-2000:]}"
            )


def find_postgres_bin_dir() -> Path | None:
    """Debian's newest PostgreSQL server binaries, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL server for the session, with ``.stop()``/``.start()``."""
    bin_dir = find_postgres_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail(f"{MISSING_SERVER}; CI must install it")
        pytest.skip(MISSING_SERVER)
    root = Path(tempfile.mkdtemp(prefix="ga4-buttons-pg-"))
    server = PostgresServer(bin_dir, root)
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        try:
            if (server.data_dir / "postmaster.pid").exists():
                server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


# --- Stores ---------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh database on the server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'insights.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
async def sql_store(database_url: str) -> AsyncIterator[SQLInsightStore]:
    """A SQL store on an empty database, closed after the test."""
    store = SQLInsightStore(database_url)
    try:
        yield store
    finally:
        await store.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
