"""Notifiers: who hears about an analysis.

The Slack and webhook notifiers need httpx (``pip install
'ga4-button-workflows[http]'``). They, and the e-mail notifier, are imported on
first use, so importing this package loads no HTTP or SMTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ga4_button_workflows.notifiers.composite import CompositeNotifier
from ga4_button_workflows.notifiers.console import ConsoleNotifier

if TYPE_CHECKING:
    from ga4_button_workflows.notifiers.email import EmailNotifier
    from ga4_button_workflows.notifiers.slack import SlackNotifier
    from ga4_button_workflows.notifiers.webhook import WebhookNotifier, verify_signature

__all__ = [
    "CompositeNotifier",
    "ConsoleNotifier",
    "EmailNotifier",
    "SlackNotifier",
    "WebhookNotifier",
    "verify_signature",
]

_LAZY = {
    "EmailNotifier": "email",
    "SlackNotifier": "slack",
    "WebhookNotifier": "webhook",
    "verify_signature": "webhook",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
