"""A notifier that writes the insights summary and change alerts to a text stream."""

from __future__ import annotations

import sys
from typing import TextIO

from ga4_button_workflows.models import ButtonInsights
from ga4_button_workflows.render import render_text
from ga4_button_workflows.trends import ChangeAlert

__all__ = ["ConsoleNotifier"]


class ConsoleNotifier:
    """Writes a readable summary to ``stream`` (standard error by default).

    Args:
        stream: Where to write. Standard error keeps standard output free for
            a command's JSON.
        channel: The delivery channel name.
    """

    def __init__(
        self, stream: TextIO | None = None, *, channel: str = "console"
    ) -> None:
        self._stream = stream
        self._channel = channel

    @property
    def channel(self) -> str:
        """See :class:`~ga4_button_workflows.ports.Notifier`."""
        return self._channel

    async def send(self, insights: ButtonInsights, *, analysis_id: str) -> None:
        """See :class:`~ga4_button_workflows.ports.Notifier`."""
        stream = self._stream or sys.stderr
        stream.write(f"Button analysis {analysis_id}\n{render_text(insights)}\n")
        stream.flush()

    async def send_alert(self, alert: ChangeAlert) -> None:
        """Write the alert's text."""
        stream = self._stream or sys.stderr
        stream.write(f"{alert.text}\n")
        stream.flush()
