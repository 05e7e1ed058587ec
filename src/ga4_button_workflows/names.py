"""Names that are part of the public contract: they show in histories and the UI."""

from __future__ import annotations

__all__ = [
    "ACTIVITY_PREFIX",
    "DEFAULT_TASK_QUEUE",
    "FETCH_GA4_DATA",
    "GENERATE_BUTTON_INSIGHTS",
    "PROCESS_BUTTON_METRICS",
    "PROPERTIES_WORKFLOW_TYPE",
    "SAVE_INSIGHTS_TO_DATABASE",
    "SEND_CHANGE_ALERTS",
    "SEND_INSIGHTS_NOTIFICATION",
    "WORKFLOW_TYPE",
]

ACTIVITY_PREFIX = "ga4_button_workflows."
"""Every activity is registered under this prefix, so none collides with a
host's own activities."""

FETCH_GA4_DATA = ACTIVITY_PREFIX + "fetch_ga4_data"
"""Fetches and aggregates the period's button events."""
PROCESS_BUTTON_METRICS = ACTIVITY_PREFIX + "process_button_metrics"
"""Computes metrics, comparisons, the trend and change findings."""
GENERATE_BUTTON_INSIGHTS = ACTIVITY_PREFIX + "generate_button_insights"
"""Turns the metrics into the insights document."""
SAVE_INSIGHTS_TO_DATABASE = ACTIVITY_PREFIX + "save_insights_to_database"
"""Saves the analysis; idempotent."""
SEND_INSIGHTS_NOTIFICATION = ACTIVITY_PREFIX + "send_insights_notification"
"""Notifies every channel not yet reached; idempotent."""
SEND_CHANGE_ALERTS = ACTIVITY_PREFIX + "send_change_alerts"
"""Alerts on significant changes, once per change."""

WORKFLOW_TYPE = "ButtonAnalyticsWorkflow"
"""The workflow type name."""

PROPERTIES_WORKFLOW_TYPE = "ButtonAnalyticsPropertiesWorkflow"
"""The type name of the workflow that analyses several properties."""

DEFAULT_TASK_QUEUE = "button-analytics"
"""The task queue workers poll unless told otherwise."""
