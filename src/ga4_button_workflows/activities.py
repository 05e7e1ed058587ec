"""The workflow's activities, bound to a host's data source, store and notifiers.

Hosts rarely touch this module: :class:`~ga4_button_workflows.plugin.
ButtonAnalyticsPlugin` builds the bound activity methods itself.
"""

from __future__ import annotations

import datetime
import string
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from temporalio import activity
from temporalio.exceptions import ApplicationError

from ga4_button_workflows import names
from ga4_button_workflows._checks import FieldTypeError, FieldValueError
from ga4_button_workflows._delivery import combined_failure
from ga4_button_workflows.aggregate import check_report, normalise_report_names
from ga4_button_workflows.alerts import deliver_alerts
from ga4_button_workflows.insights import generate_insights
from ga4_button_workflows.metrics import compute_metrics
from ga4_button_workflows.models import (
    AnalysisRecord,
    BranchOutcome,
    BranchStatus,
    ButtonInsights,
    ButtonReport,
    ChangeAlertsRequest,
    ChangeFinding,
    FetchRequest,
    MetricsReport,
    NotificationRequest,
    SaveRequest,
    local_date,
)
from ga4_button_workflows.ports import (
    ButtonDataSource,
    FetchContext,
    InsightStore,
    Notifier,
    TrendStore,
    as_notifiers,
)
from ga4_button_workflows.trends import (
    TrendConfig,
    baseline_for,
    comparable_series,
    daily_series,
    period_over_period,
    previous_period_of,
)

__all__ = ["INVALID_REPORT", "ButtonAnalyticsActivities"]

UNKNOWN_SOURCE = "UnknownDataSource"
INVALID_REPORT = "InvalidReport"
"""Error type of a data source's report that breaks the models' rules (a NaN or
negative count, a day outside the period): non-retryable, since the same
source builds the same report again."""
NOTIFICATION_FAILED = "NotificationFailed"


class ButtonAnalyticsActivities:
    """The five activities, bound to what the host plugged in.

    Args:
        source: The data source, or several by name (a request's
            ``source_name`` picks one; the first is the default).
        store: Where analyses and delivery records are kept. Without one,
            saving is skipped and deliveries are remembered only by this
            process.
        notifier: One notifier or several; none skips notifying.
        trend_config: When a change is a finding and when it alerts.
        analysis_url: A link to an analysis for alerts, with ``{analysis_id}``
            in it, e.g. ``"https://analytics.example.com/analysis/{analysis_id}"``.
    """

    def __init__(
        self,
        source: ButtonDataSource | Mapping[str, ButtonDataSource] | None,
        store: InsightStore | None = None,
        notifier: Notifier | Sequence[Notifier] | None = None,
        *,
        trend_config: TrendConfig | None = None,
        analysis_url: str | None = None,
    ) -> None:
        self._sources = _checked_sources(source)
        self._store = _checked_store(store)
        self._notifiers = as_notifiers(notifier)
        self._local_deliveries: set[tuple[str, str]] = set()
        self._trend_config = _checked_trend_config(trend_config)
        self._analysis_url = _checked_analysis_url(analysis_url)

    def activities(self) -> list[Callable[..., Any]]:
        """The bound activity methods, ready for ``Worker(activities=...)``."""
        return [
            self.fetch_ga4_data,
            self.process_button_metrics,
            self.generate_button_insights,
            self.save_insights_to_database,
            self.send_insights_notification,
            self.send_change_alerts,
        ]

    @activity.defn(name=names.FETCH_GA4_DATA)
    async def fetch_ga4_data(self, request: FetchRequest) -> ButtonReport:
        """Fetch and aggregate the period's button events.

        Resumes from the last heartbeat checkpoint when a previous attempt
        died.
        """
        source = self._source(request.source_name)
        info = activity.info()
        details = info.heartbeat_details
        context = FetchContext(
            previous_state=details[0] if details else None,
            heartbeat=activity.heartbeat,
        )
        if context.resuming:
            activity.logger.info(
                "Resuming the GA4 fetch from attempt %d's checkpoint",
                info.attempt - 1,
            )
        try:
            report = check_report(await source.fetch_report(request, context), request)
        except (FieldTypeError, FieldValueError) as error:
            raise ApplicationError(
                f"the data source {type(source).__name__} built an invalid report: "
                f"{error}. Fix the source: retrying would build the same report",
                type=INVALID_REPORT,
                non_retryable=True,
            ) from error
        # A host's own source may hand over raw names; every output needs clean ones.
        report = normalise_report_names(report)
        try:
            report = await self._with_history(report, request)
        except Exception as error:
            # The store's trend history is a bonus: a store that is down must
            # not fail (and retry) the GA4 fetch. The save step reports the
            # store's trouble in the outcome.
            activity.logger.warning(
                "Trend history unavailable from the store: %s", type(error).__name__
            )
            report = _with_note(
                report,
                "trend history and the previous period's baseline were "
                f"unavailable from the store ({type(error).__name__}); no change "
                "findings this time",
            )
        activity.logger.info(
            "Fetched %d rows in %d pages for property %s over %s",
            report.rows_read,
            report.pages_fetched,
            request.property_id,
            request.period,
        )
        return report

    async def _with_history(
        self, report: ButtonReport, request: FetchRequest
    ) -> ButtonReport:
        """Keep the report's days in the store and find its baseline there."""
        store = self._store
        if store is None:
            return report
        today = local_date(_utc_now(), report.time_zone or request.time_zone)
        trend_store = _trend_store(store)
        if report.daily and trend_store is not None:
            # Restated days replace what the store holds; today is incomplete.
            complete = [row for row in report.daily if row.date < today]
            await trend_store.save_daily(report.property_id, complete)
        if report.previous_counts:
            return report
        previous = (
            await store.latest_analysis(report.property_id)
            if trend_store is None
            else await trend_store.analysis_for_period(
                report.property_id, previous_period_of(report.period)
            )
        )
        baseline = baseline_for(report, previous)
        if baseline is None:
            return report
        return attrs.evolve(
            report, previous_period=baseline.period, previous_counts=baseline.counts
        )

    @activity.defn(name=names.PROCESS_BUTTON_METRICS)
    async def process_button_metrics(self, report: ButtonReport) -> MetricsReport:
        """Compute per-button metrics, variant comparisons, trend and changes."""
        metrics = compute_metrics(report)
        today = local_date(_utc_now(), report.time_zone or "UTC")
        trend = daily_series(report.daily, today=today, config=self._trend_config)
        changes: tuple[ChangeFinding, ...] = ()
        changes_since = None
        if report.previous_period is not None and report.previous_counts:
            quality = report.quality
            changes = period_over_period(
                report.counts,
                report.previous_counts,
                current_period=report.period,
                previous_period=report.previous_period,
                config=self._trend_config,
                flagged=quality.thresholded or quality.sampled or quality.other_row,
            )
            # Only a comparison that was made can say "no significant change".
            if changes or comparable_series(
                report.counts, report.previous_counts, config=self._trend_config
            ):
                changes_since = report.previous_period
        return attrs.evolve(
            metrics, trend=trend, changes=changes, changes_since=changes_since
        )

    @activity.defn(name=names.GENERATE_BUTTON_INSIGHTS)
    async def generate_button_insights(self, metrics: MetricsReport) -> ButtonInsights:
        """Turn the metrics into the insights document."""
        return generate_insights(metrics, generated_at=_utc_now())

    @activity.defn(name=names.SAVE_INSIGHTS_TO_DATABASE)
    async def save_insights_to_database(self, request: SaveRequest) -> BranchOutcome:
        """Save the analysis; a retried save replaces, never duplicates."""
        if self._store is None:
            return BranchOutcome(status=BranchStatus.SKIPPED, detail="no store")
        record = AnalysisRecord(
            analysis_id=request.analysis_id,
            workflow_id=request.workflow_id,
            run_id=request.run_id,
            property_id=request.insights.property_id,
            period=request.insights.period,
            saved_at=_utc_now(),
            insights=request.insights,
        )
        is_new = await self._store.save_analysis(record)
        store_name = type(self._store).__name__
        if is_new:
            return BranchOutcome(
                status=BranchStatus.DONE, detail=f"saved to {store_name}"
            )
        return BranchOutcome(
            status=BranchStatus.ALREADY_DONE,
            detail=f"replaced the earlier save in {store_name}",
        )

    @activity.defn(name=names.SEND_INSIGHTS_NOTIFICATION)
    async def send_insights_notification(
        self, request: NotificationRequest
    ) -> BranchOutcome:
        """Notify every channel that has not yet received this analysis.

        A delivery is recorded per analysis and channel right after it
        succeeds, so a retried activity skips the channels already reached.
        """
        if not self._notifiers:
            return BranchOutcome(status=BranchStatus.SKIPPED, detail="no notifier")
        sent: list[str] = []
        skipped: list[str] = []
        failures: list[tuple[str, BaseException]] = []
        for notifier in self._notifiers:
            channel = notifier.channel
            if await self._delivered(request.analysis_id, channel):
                skipped.append(channel)
                continue
            try:
                await notifier.send(request.insights, analysis_id=request.analysis_id)
            except Exception as error:
                activity.logger.warning(
                    "Notification to %s failed: %s", channel, type(error).__name__
                )
                failures.append((channel, error))
                continue
            await self._record_delivery(request.analysis_id, channel)
            sent.append(channel)
        if failures:
            raise combined_failure(
                failures,
                message="notification failed",
                error_type=NOTIFICATION_FAILED,
            )
        if not sent:
            return BranchOutcome(
                status=BranchStatus.ALREADY_DONE,
                detail="already delivered to " + ", ".join(skipped),
            )
        return BranchOutcome(
            status=BranchStatus.DONE, detail="sent to " + ", ".join(sent)
        )

    @activity.defn(name=names.SEND_CHANGE_ALERTS)
    async def send_change_alerts(self, request: ChangeAlertsRequest) -> BranchOutcome:
        """Alert on significant changes, once per change unless it worsens."""
        if not any(finding.alert for finding in request.changes):
            return BranchOutcome(
                status=BranchStatus.SKIPPED, detail="no change to alert"
            )
        if not self._notifiers:
            return BranchOutcome(status=BranchStatus.SKIPPED, detail="no notifier")
        store = _trend_store(self._store)
        if store is None:
            return BranchOutcome(
                status=BranchStatus.SKIPPED, detail="the store keeps no alert state"
            )
        url = (
            self._analysis_url.format(
                analysis_id=urllib.parse.quote(request.analysis_id, safe="")
            )
            if self._analysis_url
            else None
        )
        sent = await deliver_alerts(
            request.changes,
            property_id=request.property_id,
            analysis_id=request.analysis_id,
            store=store,
            notifiers=self._notifiers,
            config=self._trend_config,
            analysis_url=url,
        )
        if not sent:
            return BranchOutcome(
                status=BranchStatus.ALREADY_DONE, detail="no new change to alert"
            )
        return BranchOutcome(
            status=BranchStatus.DONE, detail=f"{len(sent)} change alerts sent"
        )

    def _source(self, name: str | None) -> ButtonDataSource:
        if not self._sources:
            raise ApplicationError(
                "this worker has no data source; pass source=... to "
                "ButtonAnalyticsPlugin on the activity worker",
                type=UNKNOWN_SOURCE,
                non_retryable=True,
            )
        if name is None:
            return next(iter(self._sources.values()))
        try:
            return self._sources[name]
        except KeyError:
            known = ", ".join(sorted(self._sources))
            raise ApplicationError(
                f"no data source called {name!r} on this worker; it has: {known}",
                type=UNKNOWN_SOURCE,
                non_retryable=True,
            ) from None

    async def _delivered(self, analysis_id: str, channel: str) -> bool:
        if self._store is not None:
            return await self._store.has_delivery(analysis_id, channel)
        return (analysis_id, channel) in self._local_deliveries

    async def _record_delivery(self, analysis_id: str, channel: str) -> None:
        if self._store is not None:
            await self._store.record_delivery(analysis_id, channel)
        else:
            self._local_deliveries.add((analysis_id, channel))


def _with_note(report: ButtonReport, note: str) -> ButtonReport:
    quality = report.quality
    return attrs.evolve(
        report, quality=attrs.evolve(quality, notes=(*quality.notes, note))
    )


def _trend_store(store: object) -> TrendStore | None:
    return store if isinstance(store, TrendStore) else None


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _checked_trend_config(config: object) -> TrendConfig:
    if config is None:
        return TrendConfig()
    if not isinstance(config, TrendConfig):
        raise TypeError(
            f"trend_config must be a TrendConfig, got {type(config).__name__} "
            f"{config!r}; build one, e.g. TrendConfig(alpha=0.01)"
        )
    return config


def _checked_analysis_url(template: object) -> str | None:
    if template is None:
        return None
    if not isinstance(template, str):
        raise TypeError(
            f"analysis_url must be a string, got {type(template).__name__} {template!r}"
        )
    example = "'https://analytics.example.com/analysis/{analysis_id}'"
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None
        ]
    except ValueError as error:
        raise ValueError(
            f"analysis_url {template!r} is not a template ({error}); double "
            f"braces that are not a placeholder ({{{{ and }}}}), e.g. {example}"
        ) from None
    if any(field != ("analysis_id", "", None) for field in fields):
        raise ValueError(
            f"analysis_url {template!r} may hold only the placeholder "
            f"{{analysis_id}}, with no format or attribute, e.g. {example}"
        )
    if urllib.parse.urlsplit(template).scheme not in ("http", "https"):
        raise ValueError(
            f"analysis_url {template!r} must be an http:// or https:// link, "
            f"e.g. {example}"
        )
    return template


def _checked_sources(given: object) -> dict[str, ButtonDataSource]:
    """The sources by name, each checked to be a data source."""
    if given is None:
        return {}
    named = (
        dict(given)
        if isinstance(given, Mapping) and not isinstance(given, ButtonDataSource)
        else {"default": given}
    )
    sources: dict[str, ButtonDataSource] = {}
    for name, candidate in named.items():
        if not isinstance(candidate, ButtonDataSource):
            raise TypeError(
                "a data source needs an async fetch_report(request, context) "
                f"method, got {type(candidate).__name__} {candidate!r}; use e.g. "
                "ga4_button_workflows.sources.GA4DataSource(property_id=...)"
            )
        sources[str(name)] = candidate
    return sources


def _checked_store(store: object) -> InsightStore | None:
    if store is None or isinstance(store, InsightStore):
        return store
    hint = (
        f"; for a URL use ga4_button_workflows.stores.open_store({store!r})"
        if isinstance(store, str)
        else ""
    )
    raise TypeError(
        "store must be an insight store (ga4_button_workflows.ports."
        f"InsightStore), got {type(store).__name__} {store!r}{hint}"
    )
