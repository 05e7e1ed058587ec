"""``GA4DataSource``: button events from the Google Analytics Data API (v1beta).

The source asks GA4 for the event schema's events only, at the grain rates
need: event x button x variant over the whole period, so that ``totalUsers``
is a real user count (users are not additive across days or variants). It
pages by offset, fans the remaining pages out once the first page has told
the row count, folds every page into the compact report as it arrives, and
checkpoints after each page so that a retried activity resumes where the last
attempt stopped.

Transports: ``grpc`` (the default) uses the asynchronous client,
``BetaAnalyticsDataAsyncClient``, on the worker's event loop. The Data API
client has no asynchronous REST transport, so ``rest`` runs the synchronous
client in a worker thread per page (:func:`asyncio.to_thread`); it never
blocks the event loop.

Folding a page costs CPU (about a second per 150,000 rows), so it runs in a
worker thread as well, one page at a time, keeping the event loop free for
heartbeats and other activities.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

import attrs
import google.auth
from google.analytics.data_v1beta import (
    BetaAnalyticsDataAsyncClient,
    BetaAnalyticsDataClient,
)
from google.analytics.data_v1beta.types import (
    DateRange,
    Dimension,
    Filter,
    FilterExpression,
    GetMetadataRequest,
    Metric,
    OrderBy,
    RunReportRequest,
)
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import Credentials
from google.oauth2 import service_account
from temporalio import activity
from temporalio.exceptions import ApplicationError

from ga4_button_workflows.aggregate import (
    DEFAULT_MAX_BUTTONS,
    ReportBuilder,
    ReportCheckpoint,
)
from ga4_button_workflows.models import (
    ButtonReport,
    EventSchema,
    FetchRequest,
    Period,
    validate_property_id,
)
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.sources._ga4_errors import (
    CREDENTIALS_ERROR,
    INVALID_PROPERTY,
    classify_ga4_error,
    credential_identity,
)
from ga4_button_workflows.sources._ga4_rows import (
    DailyCountsFolder,
    PageSummary,
    QuotaSnapshot,
    ReportFolder,
    count_metric,
    largest_pairs,
    raw_message,
)

__all__ = [
    "ANALYTICS_READONLY_SCOPE",
    "DEFAULT_MAX_CONCURRENT_REQUESTS",
    "DEFAULT_PAGE_SIZE",
    "MAX_CONCURRENT_REQUESTS",
    "MAX_PAGE_SIZE",
    "GA4DataSource",
    "GA4FetchState",
    "PageCursor",
    "aggregate_report_request",
    "daily_report_request",
]

logger = logging.getLogger(__name__)

ANALYTICS_READONLY_SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
"""The OAuth scope the source asks credentials for."""
DEFAULT_PAGE_SIZE = 100_000
"""Rows asked per request."""
MAX_PAGE_SIZE = 250_000
"""GA4's largest ``limit``."""
DEFAULT_MAX_CONCURRENT_REQUESTS = 4
"""Requests in flight per property by default."""
MAX_CONCURRENT_REQUESTS = 10
"""GA4's concurrency quota of a standard property; the limit may not exceed it."""
MAX_CHECKPOINT_ENTRIES = 2_000
"""Button x variant entries above which the fetch stops recording checkpoints.

An entry is about a hundred bytes in a heartbeat; past this the checkpoint
would approach Temporal's payload warning size.
"""

Transport = Literal["grpc", "grpc_asyncio", "rest"]
_T = TypeVar("_T")


def _event_dimensions(schema: EventSchema) -> list[str]:
    names = ["eventName"]
    for name in (schema.button_dimension, schema.variant_dimension):
        if name is not None and name not in names:
            names.append(name)
    return names


def _report_metrics(schema: EventSchema) -> list[str]:
    names: list[str] = []
    for event_name in schema.event_names:
        name = count_metric(event_name, schema)
        if name not in names:
            names.append(name)
    names.append("totalUsers")
    if schema.duration_metric is not None:
        names.append(schema.duration_metric)
    return names


def _report_request(
    schema: EventSchema,
    property_id: str,
    period: Period,
    dimensions: list[str],
    *,
    limit: int,
    offset: int,
) -> RunReportRequest:
    return RunReportRequest(
        property=f"properties/{property_id}",
        date_ranges=[
            DateRange(
                start_date=period.start.isoformat(), end_date=period.end.isoformat()
            )
        ],
        dimensions=[Dimension(name=name) for name in dimensions],
        metrics=[Metric(name=name) for name in _report_metrics(schema)],
        dimension_filter=FilterExpression(
            filter=Filter(
                field_name="eventName",
                in_list_filter=Filter.InListFilter(
                    values=list(schema.event_names), case_sensitive=True
                ),
            )
        ),
        # Without a complete order GA4 sorts by the first metric, and tied rows
        # may move between pages: some would be read twice, others never.
        order_bys=[
            OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name=name))
            for name in dimensions
        ],
        limit=limit,
        offset=offset,
        return_property_quota=True,
    )


def aggregate_report_request(
    schema: EventSchema,
    property_id: str,
    period: Period,
    *,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> RunReportRequest:
    """Return the request for the schema's events over the whole period.

    Dimensions: ``eventName``, the button and the variant dimension, without
    ``date``, so that ``totalUsers`` counts each user once per row over the
    whole period. Only the schema's events are asked for, in a stable order
    over every dimension, with the property quota.

    Args:
        schema: Which events and columns to ask for.
        property_id: The numeric GA4 property ID.
        period: The days to cover (the property's calendar days).
        limit: Rows per page.
        offset: The first row of the page.
    """
    return _report_request(
        schema,
        property_id,
        period,
        _event_dimensions(schema),
        limit=limit,
        offset=offset,
    )


def daily_report_request(
    schema: EventSchema,
    property_id: str,
    period: Period,
    *,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> RunReportRequest:
    """Return the request for daily event counts (for trends).

    The aggregate request plus the ``date`` dimension. Its ``totalUsers`` are
    per day and must never be summed; only its event counts are used.
    """
    return _report_request(
        schema,
        property_id,
        period,
        ["date", *_event_dimensions(schema)],
        limit=limit,
        offset=offset,
    )


@attrs.frozen(kw_only=True)
class PageCursor:
    """How far a paged GA4 report has been read."""

    row_count: int | None = None
    """GA4's ``rowCount``; None until the first page has answered."""
    pages: tuple[tuple[int, int], ...] = ()
    """(offset, rows) of every page folded, in the order they were folded."""
    ended_early: bool = False
    """An empty page ended the report before ``row_count`` rows were read."""

    @property
    def rows_folded(self) -> int:
        """Rows folded so far."""
        return sum(rows for _, rows in self.pages)


@attrs.frozen(kw_only=True)
class GA4FetchState:
    """The fetch activity's checkpoint: the report so far and where paging stands."""

    property_id: str
    """The property being fetched."""
    period: Period
    """The period being fetched."""
    schema_name: str
    """The event schema the rows were folded with."""
    report: ReportCheckpoint
    """Everything folded so far."""
    cursor: PageCursor
    """The pages folded so far."""


class GA4DataSource:
    """Button events from GA4's Data API, aggregated page by page.

    Credentials, in order: ``credentials`` (ready
    ``google.auth.credentials.Credentials``), ``credentials_file`` (a
    service-account JSON key), otherwise Application Default Credentials
    (``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth application-default
    login``, or the metadata server), all with the ``analytics.readonly``
    scope.

    Example::

        source = GA4DataSource(credentials_file="/secrets/ga4-reader.json")
        plugin = ButtonAnalyticsPlugin(source=source, store=...)

    Args:
        property_id: Serve only this numeric GA4 property (``properties/`` is
            accepted); requests for another are refused. None serves any
            property a request names.
        schema: Which events mean what; it decides the requests.
        credentials: Ready credentials.
        credentials_file: Path to a service-account key file.
        transport: ``grpc`` (asynchronous gRPC client), ``rest`` (synchronous
            REST client in a worker thread per page). ``grpc_asyncio`` is an
            alias of ``grpc``.
        client: A ready Data API client (``BetaAnalyticsDataAsyncClient``, or
            ``BetaAnalyticsDataClient`` for REST); the caller closes it. An
            asynchronous client is bound to the event loop it was created in.
        client_factory: Called (in the event loop) to make a client, instead
            of building one from the credentials; the source closes it.
        client_options: ``client_options`` of the built client (such as
            ``api_endpoint`` or ``quota_project_id``).
        client_kwargs: More keyword arguments of the built client; they win
            over ``credentials``, ``transport`` and ``client_options``.
        page_size: Rows per request, at most 250,000.
        max_concurrent_requests: Requests in flight per property, across every
            fetch this source runs in one event loop (1 to 10).
        max_buttons: Buttons kept in the report, largest first.
        daily: Also fetch daily exposures and clicks of the kept buttons into
            ``report.daily``, for trends (a second request, with ``date``).
        previous_period: Also fetch the counts of the equally long period
            just before, into ``report.previous_counts``, for period-over-period
            changes (a third request).
        request_timeout_s: Deadline of each request, in seconds.
        quota_reserve_tokens: When a token quota reports fewer tokens left
            than this, the source pauses before each further request and runs
            them one at a time.
        quota_pause_s: The pause, in seconds, when tokens run low.
        keepalive_interval_s: Seconds between heartbeats while waiting on GA4.

    Raises:
        ValueError: an invalid property ID (measurement IDs ``G-...`` and
            Universal Analytics IDs ``UA-...`` included) or option.
    """

    def __init__(
        self,
        property_id: str | None = None,
        *,
        schema: EventSchema = ORIGINAL_LANDING_PAGE,
        credentials: Credentials | None = None,
        credentials_file: str | os.PathLike[str] | None = None,
        transport: Transport = "grpc",
        client: BetaAnalyticsDataAsyncClient | BetaAnalyticsDataClient | None = None,
        client_factory: (
            Callable[[], BetaAnalyticsDataAsyncClient | BetaAnalyticsDataClient] | None
        ) = None,
        client_options: Mapping[str, Any] | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
        max_buttons: int = DEFAULT_MAX_BUTTONS,
        daily: bool = False,
        previous_period: bool = False,
        request_timeout_s: float = 300.0,
        quota_reserve_tokens: int = 1_000,
        quota_pause_s: float = 10.0,
        keepalive_interval_s: float = 20.0,
    ) -> None:
        self._property_id = (
            None if property_id is None else validate_property_id(property_id)
        )
        if credentials is not None and credentials_file is not None:
            raise ValueError(
                "give credentials or credentials_file, not both; the source "
                "cannot tell which one to use"
            )
        if transport not in ("grpc", "grpc_asyncio", "rest"):
            raise ValueError(f"transport must be 'grpc' or 'rest', not {transport!r}")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(
                f"page_size must be between 1 and {MAX_PAGE_SIZE:,} (GA4's largest "
                f"limit), not {page_size}"
            )
        if not 1 <= max_concurrent_requests <= MAX_CONCURRENT_REQUESTS:
            raise ValueError(
                "max_concurrent_requests must be between 1 and "
                f"{MAX_CONCURRENT_REQUESTS} (GA4 refuses more than 10 concurrent "
                "requests per standard property), not "
                f"{max_concurrent_requests}"
            )
        if request_timeout_s <= 0 or quota_pause_s < 0 or keepalive_interval_s <= 0:
            raise ValueError(
                "request_timeout_s and keepalive_interval_s must be positive and "
                "quota_pause_s not negative"
            )
        self.schema = schema
        """Which events and parameters the source asks GA4 for."""
        self._credentials = credentials
        self._credentials_file = (
            None if credentials_file is None else os.fspath(credentials_file)
        )
        self._transport: Transport = transport
        self._client = client
        self._client_factory = client_factory
        self._client_options = dict(client_options or {})
        self._client_kwargs = dict(client_kwargs or {})
        self._page_size = page_size
        self._max_concurrent = max_concurrent_requests
        self._max_buttons = max_buttons
        self._daily = daily
        self._previous_period = previous_period
        self._timeout_s = request_timeout_s
        self._quota_reserve = quota_reserve_tokens
        self._quota_pause_s = quota_pause_s
        self._keepalive_s = keepalive_interval_s
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop,
            BetaAnalyticsDataAsyncClient | BetaAnalyticsDataClient,
        ] = weakref.WeakKeyDictionary()
        self._creating: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop,
            asyncio.Task[BetaAnalyticsDataAsyncClient | BetaAnalyticsDataClient],
        ] = weakref.WeakKeyDictionary()
        self._slots: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]
        ] = weakref.WeakKeyDictionary()
        self._credentials_lock = threading.Lock()

    # --- the data source protocol ------------------------------------------------

    async def fetch_report(
        self, request: FetchRequest, context: FetchContext
    ) -> ButtonReport:
        """Fetch and aggregate the period's button events.

        See :class:`~ga4_button_workflows.ports.ButtonDataSource`. Resumes from
        ``context``'s checkpoint when an earlier attempt left one.

        Raises:
            ApplicationError: classified GA4 failures: non-retryable for
                configuration mistakes, retryable (with ``next_retry_delay``
                when a quota ran out) otherwise.
        """
        property_id = self._checked_property(request.property_id)
        state = self._resume_state(context, property_id, request)
        builder = ReportBuilder(
            self.schema,
            property_id=property_id,
            period=request.period,
            max_buttons=self._max_buttons,
            resume_from=None if state is None else state.report,
        )
        folder = ReportFolder(builder, self.schema)
        saving = _Checkpoints(context, property_id, request.period, self.schema.name)

        def record(cursor: PageCursor) -> None:
            saving.record(builder, cursor)

        cursor = await self._page_through(
            property_id,
            lambda limit, offset: aggregate_report_request(
                self.schema, property_id, request.period, limit=limit, offset=offset
            ),
            folder.fold_pb,
            cursor=PageCursor() if state is None else state.cursor,
            context=context,
            on_page=record,
            notes=builder.note,
        )
        if builder.time_zone is None:
            builder.time_zone = request.time_zone
        elif request.time_zone and builder.time_zone != request.time_zone:
            builder.note(
                f"GA4 reports property {property_id} in {builder.time_zone}, but "
                f"the analysis assumed {request.time_zone}: the period's days are "
                f"{builder.time_zone} days. Set time_zone={builder.time_zone!r} "
                "in the request so that 'yesterday' means the property's yesterday"
            )
        report = builder.build()
        if self._daily:
            report = await self._with_daily(property_id, request, context, report)
        if self._previous_period:
            report = await self._with_previous(property_id, request, context, report)
        _log().info(
            "GA4 property %s: %d rows in %d pages folded into %d button x variant "
            "entries (%s)",
            property_id,
            cursor.rows_folded,
            report.pages_fetched,
            len(report.counts),
            "complete" if not cursor.ended_early else "ended early on an empty page",
        )
        return report

    async def _with_daily(
        self,
        property_id: str,
        request: FetchRequest,
        context: FetchContext,
        report: ButtonReport,
    ) -> ButtonReport:
        # XXX: the daily request is not checkpointed: a retried attempt resumes
        # the whole-period report (finished, so nothing is asked again) and
        # asks for the daily rows anew. They are a small share of the tokens.
        folder = DailyCountsFolder(self.schema)
        notes: list[str] = []
        await self._page_through(
            property_id,
            lambda limit, offset: daily_report_request(
                self.schema, property_id, request.period, limit=limit, offset=offset
            ),
            folder.fold_pb,
            cursor=PageCursor(),
            context=context,
            on_page=lambda cursor: None,
            notes=notes.append,
        )
        daily, caveats = folder.build(largest_pairs(report.counts))
        return _with_notes(attrs.evolve(report, daily=daily), [*notes, *caveats])

    async def _with_previous(
        self,
        property_id: str,
        request: FetchRequest,
        context: FetchContext,
        report: ButtonReport,
    ) -> ButtonReport:
        days = request.period.days
        previous = Period(
            request.period.start - datetime.timedelta(days=days),
            request.period.start - datetime.timedelta(days=1),
        )
        builder = ReportBuilder(self.schema, property_id=property_id, period=previous)
        folder = ReportFolder(builder, self.schema)
        notes: list[str] = []
        await self._page_through(
            property_id,
            lambda limit, offset: aggregate_report_request(
                self.schema, property_id, previous, limit=limit, offset=offset
            ),
            folder.fold_pb,
            cursor=PageCursor(),
            context=context,
            on_page=lambda cursor: None,
            notes=notes.append,
        )
        kept = {(counts.button, counts.variant) for counts in report.counts}
        previous_counts = tuple(
            counts
            for counts in builder.build_uncapped().counts
            if (counts.button, counts.variant) in kept
        )
        return _with_notes(
            attrs.evolve(
                report, previous_period=previous, previous_counts=previous_counts
            ),
            [f"previous period: {note}" for note in notes],
        )

    async def get_metadata(self, property_id: str | None = None) -> Any:
        """Return the property's raw ``Metadata`` protobuf: its dimensions and metrics.

        Args:
            property_id: The property; the source's own when None.

        Raises:
            ApplicationError: classified GA4 failures, as :meth:`fetch_report`.
        """
        checked = self._checked_property(property_id or self._property_id or "")
        request = GetMetadataRequest(name=f"properties/{checked}/metadata")
        async with self._classified(checked):
            client = await self._get_client()
            if isinstance(client, BetaAnalyticsDataAsyncClient):
                response = await client.get_metadata(
                    request=request, timeout=self._timeout_s
                )
            else:
                response = await asyncio.to_thread(
                    client.get_metadata, request=request, timeout=self._timeout_s
                )
        return raw_message(response)

    async def aclose(self) -> None:
        """Close the clients this source built (not one passed as ``client``)."""
        clients = list(self._clients.items())
        self._clients.clear()
        for loop, client in clients:
            if isinstance(client, BetaAnalyticsDataAsyncClient):
                if loop is asyncio.get_running_loop():
                    await client.transport.close()  # type: ignore[no-untyped-call]
            else:
                client.transport.close()  # type: ignore[no-untyped-call]

    async def __aenter__(self) -> GA4DataSource:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- paging ----------------------------------------------------------------

    async def _page_through(
        self,
        property_id: str,
        make_request: Callable[[int, int], RunReportRequest],
        fold: Callable[..., PageSummary],
        *,
        cursor: PageCursor,
        context: FetchContext,
        on_page: Callable[[PageCursor], None],
        notes: Callable[[str], None],
    ) -> PageCursor:
        paging = _Paging(
            source=self,
            property_id=property_id,
            make_request=make_request,
            fold=fold,
            cursor=cursor,
            on_page=on_page,
            notes=notes,
        )
        keepalive = asyncio.create_task(self._keep_alive(context))
        try:
            async with self._classified(property_id):
                return await paging.run()
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive

    async def _keep_alive(self, context: FetchContext) -> None:
        while True:
            await asyncio.sleep(self._keepalive_s)
            context.alive()

    async def _run_report(self, property_id: str, request: RunReportRequest) -> Any:
        async with self._property_slot(property_id):
            client = await self._get_client()
            if isinstance(client, BetaAnalyticsDataAsyncClient):
                response = await client.run_report(
                    request=request, timeout=self._timeout_s
                )
            else:
                response = await asyncio.to_thread(
                    client.run_report, request=request, timeout=self._timeout_s
                )
        return raw_message(response)

    @contextlib.asynccontextmanager
    async def _property_slot(self, property_id: str) -> AsyncIterator[None]:
        slots = self._slots.setdefault(asyncio.get_running_loop(), {})
        slot = slots.get(property_id)
        if slot is None:
            slot = slots[property_id] = asyncio.Semaphore(self._max_concurrent)
        async with slot:
            yield

    @contextlib.asynccontextmanager
    async def _classified(self, property_id: str) -> AsyncIterator[None]:
        try:
            yield
        except ApplicationError:
            raise
        except Exception as error:
            classified = classify_ga4_error(
                error, property_id=property_id, identity=self._identity()
            )
            if classified is None:
                raise
            _log().warning(
                "GA4 call for property %s failed: %s", property_id, classified
            )
            _log().debug("The GA4 client raised", exc_info=error)
            # The classified error is the root cause on purpose: workflows show
            # the innermost cause, and this one says what to do.
            raise classified from None

    # --- clients and credentials -----------------------------------------------

    async def _get_client(
        self,
    ) -> BetaAnalyticsDataAsyncClient | BetaAnalyticsDataClient:
        if self._client is not None:
            return self._client
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is not None:
            return client
        # Pages start together: one creation per loop, awaited by all of them.
        creating = self._creating.get(loop)
        if creating is None:
            creating = self._creating[loop] = loop.create_task(self._new_client())
        try:
            client = await asyncio.shield(creating)
        finally:
            if creating.done():
                self._creating.pop(loop, None)
        self._clients[loop] = client
        return client

    async def _new_client(
        self,
    ) -> BetaAnalyticsDataAsyncClient | BetaAnalyticsDataClient:
        if self._client_factory is not None:
            return self._client_factory()
        kwargs = await asyncio.to_thread(self._client_arguments)
        if self._uses_rest(kwargs):
            return BetaAnalyticsDataClient(**kwargs)
        return BetaAnalyticsDataAsyncClient(**kwargs)

    def _uses_rest(self, kwargs: Mapping[str, Any]) -> bool:
        return kwargs.get("transport") == "rest"

    def _client_arguments(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "transport": "rest" if self._transport == "rest" else "grpc_asyncio"
        }
        if self._client_options:
            kwargs["client_options"] = dict(self._client_options)
        kwargs.update(self._client_kwargs)
        if "credentials" not in kwargs:
            with self._credentials_lock:
                kwargs["credentials"] = self._resolve_credentials()
        return kwargs

    def _resolve_credentials(self) -> Credentials:
        if self._credentials is not None:
            return self._credentials
        if self._credentials_file is not None:
            try:
                key_file = service_account.Credentials.from_service_account_file
                credentials = key_file(  # type: ignore[no-untyped-call]
                    self._credentials_file, scopes=[ANALYTICS_READONLY_SCOPE]
                )
            except (OSError, ValueError, KeyError) as error:
                raise ApplicationError(
                    f"cannot load the service-account key file "
                    f"{self._credentials_file!r}: {error}. Download a JSON key for "
                    "the service account from Google Cloud (IAM > Service accounts "
                    "> Keys) and point credentials_file at it",
                    type=CREDENTIALS_ERROR,
                    non_retryable=True,
                ) from None
        else:
            try:
                credentials, _ = google.auth.default(scopes=[ANALYTICS_READONLY_SCOPE])
            except auth_exceptions.DefaultCredentialsError as error:
                classified = classify_ga4_error(error, property_id="")
                raise (classified or error) from None
        self._credentials = credentials
        return credentials  # type: ignore[no-any-return]

    def _identity(self) -> str | None:
        credentials = self._client_kwargs.get("credentials", self._credentials)
        if credentials is None and self._client is not None:
            credentials = getattr(self._client.transport, "_credentials", None)
        return _identity_of(credentials)

    # --- checks ------------------------------------------------------------------

    def _checked_property(self, property_id: str) -> str:
        try:
            checked = validate_property_id(property_id)
        except ValueError as error:
            raise ApplicationError(
                str(error), type=INVALID_PROPERTY, non_retryable=True
            ) from None
        if self._property_id is not None and checked != self._property_id:
            raise ApplicationError(
                f"this GA4DataSource serves property {self._property_id} only, but "
                f"the request asks for {checked}; create the source without "
                "property_id to serve any property",
                type=INVALID_PROPERTY,
                non_retryable=True,
            )
        return checked

    def _resume_state(
        self, context: FetchContext, property_id: str, request: FetchRequest
    ) -> GA4FetchState | None:
        state = context.resume(GA4FetchState)
        if state is None:
            return None
        if (state.property_id, state.period, state.schema_name) != (
            property_id,
            request.period,
            self.schema.name,
        ):
            _log().warning(
                "Ignoring a checkpoint of property %s over %s (schema %s): it is "
                "not this fetch's",
                state.property_id,
                state.period,
                state.schema_name,
            )
            return None
        _log().info(
            "Resuming property %s after %d pages and %d rows",
            property_id,
            len(state.cursor.pages),
            state.cursor.rows_folded,
        )
        return state


def _identity_of(credentials: Any) -> str | None:
    try:
        return credential_identity(credentials)
    except Exception:  # an identity is a nicety in an error message, never a failure
        return None


class _Checkpoints:
    """Records the fetch's progress in the activity's heartbeat."""

    def __init__(
        self, context: FetchContext, property_id: str, period: Period, schema_name: str
    ) -> None:
        self._context = context
        self._property_id = property_id
        self._period = period
        self._schema_name = schema_name
        self._too_large_logged = False

    def record(self, builder: ReportBuilder, cursor: PageCursor) -> None:
        report = builder.checkpoint()
        if len(report.entries) > MAX_CHECKPOINT_ENTRIES:
            # XXX: past this many button x variant entries the heartbeat would be
            # too large, so progress is no longer recorded; a retry resumes from
            # the last smaller checkpoint (or the start). Reports this wide are
            # rare: buttons are usually tens, not thousands.
            if not self._too_large_logged:
                self._too_large_logged = True
                _log().warning(
                    "The report has %d button x variant entries, more than %d: "
                    "later pages are not checkpointed",
                    len(report.entries),
                    MAX_CHECKPOINT_ENTRIES,
                )
            self._context.alive()
            return
        self._context.checkpoint(
            GA4FetchState(
                property_id=self._property_id,
                period=self._period,
                schema_name=self._schema_name,
                report=report,
                cursor=cursor,
            )
        )


class _Paging:
    """Pages through one report: first page alone, the rest concurrently.

    Each page is requested, folded and checkpointed in one step under a lock,
    so a checkpoint never records a page that was not folded, nor folds one it
    does not record: after a retry every page is counted exactly once.
    """

    def __init__(
        self,
        *,
        source: GA4DataSource,
        property_id: str,
        make_request: Callable[[int, int], RunReportRequest],
        fold: Callable[..., PageSummary],
        cursor: PageCursor,
        on_page: Callable[[PageCursor], None],
        notes: Callable[[str], None],
    ) -> None:
        self._source = source
        self._property_id = property_id
        self._make_request = make_request
        self._fold = fold
        self.cursor = cursor
        self._on_page = on_page
        self._notes = notes
        self._fold_lock = asyncio.Lock()
        self._low_quota = False
        self._first_row_count = cursor.row_count

    async def run(self) -> PageCursor:
        page_size = self._source._page_size
        if self.cursor.row_count is None:
            await self._page(0, page_size)
        in_flight: dict[asyncio.Task[None], tuple[int, int]] = {}
        try:
            while True:
                for offset, limit in self._gaps(in_flight.values(), page_size):
                    if len(in_flight) >= self._allowed_in_flight():
                        break
                    task = asyncio.create_task(self._page(offset, limit))
                    in_flight[task] = (offset, limit)
                if not in_flight:
                    return self.cursor
                done, _ = await asyncio.wait(
                    in_flight, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    del in_flight[task]
                    task.result()
        finally:
            for task in in_flight:
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    def _allowed_in_flight(self) -> int:
        return 1 if self._low_quota else self._source._max_concurrent

    def _gaps(
        self, in_flight: Iterable[tuple[int, int]], page_size: int
    ) -> list[tuple[int, int]]:
        """The (offset, limit) pages still to ask for."""
        cursor = self.cursor
        if cursor.ended_early or cursor.row_count is None:
            return []
        covered = sorted([*cursor.pages, *in_flight])
        gaps: list[tuple[int, int]] = []
        position = 0
        for offset, length in [*covered, (cursor.row_count, 0)]:
            while position < min(offset, cursor.row_count):
                limit = min(page_size, offset - position)
                gaps.append((position, limit))
                position += limit
            position = max(position, offset + length)
        return gaps

    async def _page(self, offset: int, limit: int) -> None:
        if self._low_quota and self._source._quota_pause_s:
            await asyncio.sleep(self._source._quota_pause_s)
        response = await self._source._run_report(
            self._property_id, self._make_request(limit, offset)
        )
        async with self._fold_lock:
            summary = await asyncio.to_thread(
                self._fold, response, first_row=offset + 1
            )
            self._record(offset, summary)
        self._watch_quota(summary.quota)

    def _record(self, offset: int, summary: PageSummary) -> None:
        previous = self.cursor
        ended_early = previous.ended_early
        if summary.rows == 0 and offset < summary.row_count:
            ended_early = True
            self._notes(
                f"GA4 returned an empty page at row {offset + 1:,} although its "
                f"row count said {summary.row_count:,} rows; the fetch stopped "
                f"there with {previous.rows_folded:,} rows, so counts may be "
                "incomplete"
            )
            _log().warning(
                "GA4 property %s: empty page at offset %d of %d rows; stopping",
                self._property_id,
                offset,
                summary.row_count,
            )
        if self._first_row_count is None:
            self._first_row_count = summary.row_count
        elif summary.row_count != self._first_row_count:
            self._notes(
                f"GA4's row count changed from {self._first_row_count:,} to "
                f"{summary.row_count:,} while the report was paged (GA4 was still "
                "processing the period); counts may be slightly off"
            )
        self.cursor = PageCursor(
            row_count=summary.row_count,
            pages=(*previous.pages, (offset, summary.rows)),
            ended_early=ended_early,
        )
        self._on_page(self.cursor)
        quota = summary.quota
        _log().info(
            "GA4 property %s: page at offset %d: %d rows (%d of %d read); tokens "
            "left: %s this hour, %s today, %s this hour for the project",
            self._property_id,
            offset,
            summary.rows,
            self.cursor.rows_folded,
            summary.row_count,
            _tokens(quota, "tokens_per_hour"),
            _tokens(quota, "tokens_per_day"),
            _tokens(quota, "tokens_per_project_per_hour"),
        )

    def _watch_quota(self, quota: QuotaSnapshot | None) -> None:
        lowest = None if quota is None else quota.lowest_tokens
        if lowest is None or lowest >= self._source._quota_reserve or self._low_quota:
            return
        self._low_quota = True
        _log().warning(
            "GA4 property %s has %d quota tokens left (reserve %d): slowing down "
            "to one request at a time, %.1f s apart",
            self._property_id,
            lowest,
            self._source._quota_reserve,
            self._source._quota_pause_s,
        )


def _with_notes(report: ButtonReport, notes: Iterable[str]) -> ButtonReport:
    added = [note for note in notes if note not in report.quality.notes]
    if not added:
        return report
    quality = attrs.evolve(report.quality, notes=(*report.quality.notes, *added))
    return attrs.evolve(report, quality=quality)


def _tokens(quota: QuotaSnapshot | None, field: str) -> str:
    value = None if quota is None else getattr(quota, field)
    return "?" if value is None else f"{value:,}"


def _log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    return activity.logger if activity.in_activity() else logger
