"""Temporal workflows that turn GA4 button-interaction data into insights.

Start with :class:`ButtonAnalyticsPlugin`: give it a data source, an insight
store and a notifier, and pass it to your Temporal client or worker.
"""

from ga4_button_workflows._version import __version__
from ga4_button_workflows.activities import ButtonAnalyticsActivities
from ga4_button_workflows.client import analysis_workflow_id, trigger_button_analysis
from ga4_button_workflows.converter import data_converter
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
from ga4_button_workflows.workflow import ButtonAnalyticsWorkflow

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
    "InsightStore",
    "MetricsReport",
    "Notifier",
    "Period",
    "Recommendation",
    "VariantComparison",
    "Verdict",
    "__version__",
    "analysis_workflow_id",
    "data_converter",
    "trigger_button_analysis",
]
