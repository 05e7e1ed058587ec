"""Temporal workflows that turn GA4 button-interaction data into insights.

Start with :class:`ButtonAnalyticsPlugin`: give it a data source, an insight
store and a notifier, and pass it to your Temporal client or worker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ga4_button_workflows._version import __version__
from ga4_button_workflows.activities import ButtonAnalyticsActivities
from ga4_button_workflows.client import analysis_workflow_id, trigger_button_analysis
from ga4_button_workflows.converter import data_converter
from ga4_button_workflows.insights import (
    InsightsConfig,
    generate_insights,
    insights_document,
    insights_json_schema,
    validate_insights_document,
)
from ga4_button_workflows.metrics import MetricsConfig, compute_metrics
from ga4_button_workflows.models import (
    AnalysisOutcome,
    AnalysisRecord,
    AnalysisRequest,
    BranchOutcome,
    BranchStatus,
    ButtonCounts,
    ButtonInsights,
    ButtonMetrics,
    ButtonReport,
    DataQuality,
    EventRole,
    EventRule,
    EventSchema,
    FetchRequest,
    MetricsReport,
    Period,
    PropertiesRequest,
    PropertyResult,
    Recommendation,
    VariantComparison,
    Verdict,
)
from ga4_button_workflows.names import DEFAULT_TASK_QUEUE, WORKFLOW_TYPE
from ga4_button_workflows.plugin import ButtonAnalyticsPlugin
from ga4_button_workflows.ports import (
    ButtonDataSource,
    FetchContext,
    InsightStore,
    Notifier,
)
from ga4_button_workflows.render import render_markdown, render_text
from ga4_button_workflows.schedules import (
    backfill_daily_schedule,
    ensure_daily_schedule,
)
from ga4_button_workflows.schemas import get_schema, load_schema
from ga4_button_workflows.trends import TrendConfig
from ga4_button_workflows.workflow import (
    ButtonAnalyticsWorkflow,
    PropertiesAnalyticsWorkflow,
)

if TYPE_CHECKING:
    from ga4_button_workflows.preflight import (
        PreflightError,
        PreflightResult,
        check_property,
    )
    from ga4_button_workflows.sources.ga4 import GA4DataSource
    from ga4_button_workflows.sources.report_file import ReportFileSource

_LAZY = {
    "GA4DataSource": "ga4_button_workflows.sources.ga4",
    "PreflightError": "ga4_button_workflows.preflight",
    "PreflightResult": "ga4_button_workflows.preflight",
    "ReportFileSource": "ga4_button_workflows.sources.report_file",
    "check_property": "ga4_button_workflows.preflight",
}


def __getattr__(name: str) -> Any:
    """Load the GA4 parts on first use, so importing stays free of GA4 libraries."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_TASK_QUEUE",
    "WORKFLOW_TYPE",
    "AnalysisOutcome",
    "AnalysisRecord",
    "AnalysisRequest",
    "BranchOutcome",
    "BranchStatus",
    "ButtonAnalyticsActivities",
    "ButtonAnalyticsPlugin",
    "ButtonAnalyticsWorkflow",
    "ButtonCounts",
    "ButtonDataSource",
    "ButtonInsights",
    "ButtonMetrics",
    "ButtonReport",
    "DataQuality",
    "EventRole",
    "EventRule",
    "EventSchema",
    "FetchContext",
    "FetchRequest",
    "GA4DataSource",
    "InsightStore",
    "InsightsConfig",
    "MetricsConfig",
    "MetricsReport",
    "Notifier",
    "Period",
    "PreflightError",
    "PreflightResult",
    "PropertiesAnalyticsWorkflow",
    "PropertiesRequest",
    "PropertyResult",
    "Recommendation",
    "ReportFileSource",
    "TrendConfig",
    "VariantComparison",
    "Verdict",
    "__version__",
    "analysis_workflow_id",
    "backfill_daily_schedule",
    "check_property",
    "compute_metrics",
    "data_converter",
    "ensure_daily_schedule",
    "generate_insights",
    "get_schema",
    "insights_document",
    "insights_json_schema",
    "load_schema",
    "render_markdown",
    "render_text",
    "trigger_button_analysis",
    "validate_insights_document",
]
