"""A private event loop on a daemon thread, for calling async code from Flask views.

Flask views are synchronous; the Temporal client and the insight stores are
coroutines. Running ``asyncio.run`` in every view would create a loop per
request, and a temporalio client (and any loop-bound lock a store keeps) would
then hop between loops. Instead one loop per blueprint runs on its own thread
for the life of the process, owns the Temporal client, and every view hands it
a coroutine and waits for the answer with a timeout.

The thread starts on first use, not when the blueprint is built, so a
pre-forking server (gunicorn) starts one loop per worker process after the fork.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["BackgroundLoop", "LoopClosedError"]

_T = TypeVar("_T")

logger = logging.getLogger("ga4_button_workflows.contrib.flask")


class LoopClosedError(RuntimeError):
    """The background loop was closed; no more calls are accepted."""


class BackgroundLoop:
    """One asyncio loop on a daemon thread; :meth:`run` calls coroutines on it.

    Args:
        name: The thread's name, shown in thread dumps.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def running(self) -> bool:
        """True once the thread has started and until :meth:`close`."""
        return self._thread is not None and not self._closed

    def run(self, coroutine: Coroutine[Any, Any, _T], *, timeout_s: float) -> _T:
        """Run ``coroutine`` on the loop and return its result.

        Raises:
            TimeoutError: no answer within ``timeout_s``; the coroutine is
                cancelled.
            LoopClosedError: :meth:`close` was called.
            Exception: whatever the coroutine raised.
        """
        try:
            loop = self._started()
        except LoopClosedError:
            coroutine.close()
            raise
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no answer within {timeout_s:g} s") from None

    def close(self, *, timeout_s: float = 5.0) -> None:
        """Stop the loop, cancel what still runs on it and join the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)
        if thread.is_alive():
            logger.warning(
                "the %s thread did not stop within %g s", self._name, timeout_s
            )

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise LoopClosedError(f"{self._name} is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=_serve, args=(loop,), name=self._name, daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
