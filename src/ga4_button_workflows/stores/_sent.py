"""What every store checks before it records a sent alert."""

from __future__ import annotations

from ga4_button_workflows.models import SentAlert

__all__ = ["checked_sent_alert"]


def checked_sent_alert(sent: object) -> SentAlert:
    """Return ``sent`` when it is a :class:`SentAlert`; raise a clear error if not."""
    if not isinstance(sent, SentAlert):
        raise TypeError(
            f"record_alert takes a SentAlert, got {type(sent).__name__} {sent!r}; "
            "build one with SentAlert.of(finding, analysis_id)"
        )
    return sent
