"""``ButtonAnalyticsPlugin``: the front door for a host's client and workers."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from temporalio.plugin import SimplePlugin
from temporalio.worker import WorkerConfig, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from ga4_button_workflows.activities import ButtonAnalyticsActivities
from ga4_button_workflows.converter import (
    ButtonAnalyticsPayloadConverter,
    install_converter,
)
from ga4_button_workflows.ports import ButtonDataSource, InsightStore, Notifier
from ga4_button_workflows.trends import TrendConfig
from ga4_button_workflows.workflow import (
    ButtonAnalyticsWorkflow,
    PropertiesAnalyticsWorkflow,
)

__all__ = ["PASSTHROUGH_MODULES", "ButtonAnalyticsPlugin"]

PASSTHROUGH_MODULES = (
    "ga4_button_workflows.models",
    "ga4_button_workflows.names",
    "ga4_button_workflows.stats",
    "attr",
    "attrs",
)
"""Modules the workflow sandbox imports once and shares, instead of re-importing
them for every workflow run. They are pure and deterministic."""


class ButtonAnalyticsPlugin(SimplePlugin):
    """Registers the button-analytics workflow, its activities and converter.

    Give it to ``Client.connect(plugins=[...])`` and every worker built on
    that client gets the workflow and the activities; or give it to one
    ``Worker(plugins=[...])``. The plugin:

    * installs a cattrs-based data converter on the client (keeping the host's
      payload codec; refusing a different payload converter with a clear
      error);
    * appends ``ButtonAnalyticsWorkflow`` and the five bound activity methods
      to whatever the worker already registers;
    * adds the library's pure modules to the sandbox's passthrough list,
      keeping every other restriction the host configured.

    Args:
        source: The data source (or several by name). Required for a worker
            that runs activities.
        store: Where analyses are saved; None skips saving.
        notifier: One notifier or several; None skips notifying.
        workflows: Register the workflow. Turn off for an activity-only worker.
        activities: Register the activities. Turn off for a workflow-only
            worker, which then needs no source.
        trend_config: When a change since the previous period is a finding
            and when it alerts.
        analysis_url: A link to an analysis for alerts, with ``{analysis_id}``
            in it.

    Raises:
        ValueError: activities are wanted but no source was given, or both
            parts are turned off.
    """

    def __init__(
        self,
        *,
        source: ButtonDataSource | Mapping[str, ButtonDataSource] | None = None,
        store: InsightStore | None = None,
        notifier: Notifier | Sequence[Notifier] | None = None,
        workflows: bool = True,
        activities: bool = True,
        trend_config: TrendConfig | None = None,
        analysis_url: str | None = None,
    ) -> None:
        if not (workflows or activities):
            raise ValueError(
                "ButtonAnalyticsPlugin with workflows=False and activities=False "
                "registers nothing; keep at least one"
            )
        if activities and source is None:
            raise ValueError(
                "an activity worker needs a data source: pass source=GA4DataSource"
                "(...) (or another ButtonDataSource), or activities=False for a "
                "workflow-only worker"
            )
        self.bound_activities = (
            ButtonAnalyticsActivities(
                source,
                store,
                notifier,
                trend_config=trend_config,
                analysis_url=analysis_url,
            )
            if activities
            else None
        )
        """The activities registered, bound to the source, store and notifiers;
        None for a workflow-only plugin."""
        super().__init__(
            "ga4_button_workflows.ButtonAnalyticsPlugin",
            data_converter=install_converter,
            activities=(
                self.bound_activities.activities() if self.bound_activities else None
            ),
            workflows=(
                [ButtonAnalyticsWorkflow, PropertiesAnalyticsWorkflow]
                if workflows
                else None
            ),
            workflow_runner=_extend_sandbox if workflows else None,
        )

    def configure_worker(self, config: WorkerConfig) -> WorkerConfig:
        """See base class; also checks that the client can encode our models."""
        converter_class = config["client"].data_converter.payload_converter_class
        if not issubclass(converter_class, ButtonAnalyticsPayloadConverter):
            raise TypeError(
                "the worker's client uses the payload converter "
                f"{converter_class.__qualname__}, which cannot encode "
                "ga4_button_workflows' models; connect the client with "
                "plugins=[ButtonAnalyticsPlugin(...)] or "
                "data_converter=ga4_button_workflows.data_converter"
            )
        return super().configure_worker(config)


def _extend_sandbox(existing: WorkflowRunner | None) -> WorkflowRunner:
    if existing is None:
        existing = SandboxedWorkflowRunner()
    if not isinstance(existing, SandboxedWorkflowRunner):
        # An unsandboxed runner needs no passthrough list.
        return existing
    return dataclasses.replace(
        existing,
        restrictions=existing.restrictions.with_passthrough_modules(
            *PASSTHROUGH_MODULES
        ),
    )
