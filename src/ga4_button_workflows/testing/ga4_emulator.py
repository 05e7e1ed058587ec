"""A local Google Analytics Data API (v1beta) to test GA4 clients against.

:class:`GA4Emulator` serves ``google.analytics.data.v1beta.BetaAnalyticsData`` over
gRPC and over REST on 127.0.0.1, so the real ``google-analytics-data`` client,
with any of its transports, talks to it exactly as it talks to Google: protobuf
or JSON on the wire, string values, ``rowCount`` without page tokens, GA4's
error statuses and messages. Use it to test your own Temporal workers, sources
and retry policies without a Google account or network access.

It answers ``runReport``, ``batchRunReports`` (up to 5 reports) and
``getMetadata``, from either

* a list of :class:`EmulatedEvent` (date, user, event name, parameters), grouped
  by the requested dimensions (``eventName``, ``date``, ``customEvent:<param>``,
  ``linkUrl``, ``pagePath``, ``pageLocation``, ``itemPromotionName``,
  ``itemPromotionCreativeName``, ``itemPromotionId``,
  ``itemPromotionCreativeSlot``), with the metrics ``eventCount``,
  ``totalUsers`` and ``activeUsers`` (distinct users of the row),
  ``eventCountPerUser``, ``itemsViewedInPromotion``, ``itemsClickedInPromotion``
  and ``customEvent:<param>`` (the parameter summed); or
* a pre-aggregated :class:`ReportTable` (:meth:`GA4Emulator.from_rows`), for
  reports with millions of rows: a row function is called only for the rows of
  the page being served, so memory stays flat (a 100,000-row page costs about a
  second of emulator CPU).

Example::

    import datetime

    from google.analytics.data_v1beta.types import (
        DateRange, Dimension, Metric, RunReportRequest,
    )
    from google.api_core.exceptions import TooManyRequests

    from ga4_button_workflows.testing import EmulatedEvent, Fault, GA4Emulator

    day = datetime.date(2024, 5, 1)
    events = [
        EmulatedEvent(date=day, user_id="u1", event_name="cta_click",
                      params={"button_type": "cta", "hover_duration": 850}),
        EmulatedEvent(date=day, user_id="u2", event_name="page_view",
                      params={"page_variant": "colors"}),
    ]
    with GA4Emulator(
        events,
        custom_dimensions=["button_type", "page_variant"],
        custom_metrics={"hover_duration": "TYPE_MILLISECONDS"},
        today=datetime.date(2024, 5, 2),
        faults=[Fault.quota_exhausted("tokens_per_hour", calls=1)],
    ) as emulator:
        request = RunReportRequest(
            property=emulator.property_name,
            date_ranges=[DateRange(start_date="7daysAgo", end_date="yesterday")],
            dimensions=[Dimension(name="customEvent:button_type")],
            metrics=[Metric(name="eventCount")],
        )
        with emulator.client(transport="rest") as client:  # or "grpc"
            try:
                client.run_report(request)  # the fault: 429 on the first call
            except TooManyRequests:  # gRPC raises ResourceExhausted, a subclass
                pass
            response = client.run_report(request)
        assert [row.dimension_values[0].value for row in response.rows] == [
            "(not set)", "cta",
        ]
        assert [r.status for r in emulator.requests] == ["RESOURCE_EXHAUSTED", "OK"]

In your own tests, hand ``emulator.client(...)`` (or the keyword arguments of
:meth:`GA4Emulator.client_kwargs`) to the code under test, inject faults, and
assert on :attr:`GA4Emulator.requests` and
:attr:`GA4Emulator.max_concurrent_requests`.

``async with GA4Emulator(...) as emulator:`` works too, with
``emulator.async_client()`` for ``BetaAnalyticsDataAsyncClient``.

Pointing a client at the emulator:

* **REST**: ``BetaAnalyticsDataClient(credentials=AnonymousCredentials(),
  transport="rest", client_options={"api_endpoint": emulator.rest_endpoint})``.
  ``rest_endpoint`` is ``http://127.0.0.1:PORT``: the scheme is needed, since
  without it the REST transport prefixes ``https://``.
* **gRPC** (``grpc`` and ``grpc_asyncio``): the generated transports always open
  a TLS channel, so ``api_endpoint`` alone cannot reach a plaintext server. Pass
  ``**emulator.client_kwargs("grpc")`` (or ``"grpc_asyncio"``): anonymous
  credentials, ``api_endpoint`` set to :attr:`GA4Emulator.grpc_target` and a
  transport factory that opens an insecure channel with the client's usual
  unlimited message sizes. :meth:`GA4Emulator.client` and
  :meth:`GA4Emulator.async_client` build such clients for you.

Behaviour worth knowing:

* ``property`` must be ``properties/<digits>``; a property other than
  :attr:`GA4Emulator.property_id` (or ``extra_property_ids``) answers
  PERMISSION_DENIED with GA4's message.
* Custom dimensions and metrics must be registered (``custom_dimensions``,
  ``custom_metrics``); an unregistered ``customEvent:x`` answers
  INVALID_ARGUMENT "Field customEvent:x is not a valid dimension. ...". A
  missing event parameter reads ``(not set)``.
* ``dateRanges`` accept ``YYYY-MM-DD``, ``today``, ``yesterday`` and
  ``NdaysAgo``, resolved against ``today`` (or the clock in ``time_zone``).
  With several ranges a ``dateRange`` dimension is added, as GA4 does.
* Without ``orderBys`` rows come by the first metric, descending. Ties are
  broken by dimension values, ascending, unless ``shuffle_ties=True``: then
  tied rows are shuffled anew on every call, as unstable as GA4's order can be,
  so a client that pages without a complete ``orderBys`` sees rows move.
* ``limit`` defaults to 10,000 and is capped at 250,000; the response never
  carries an offset or page token. With no matching rows, both ``rows`` and
  ``rowCount`` are left out.
* ``max_rows_before_other=N`` keeps the N largest rows (by the first metric)
  and folds the rest into one row whose every dimension reads ``(other)``,
  setting ``metadata.dataLossFromOtherRow``.
* ``returnPropertyQuota`` reports GA4's six quota entries. Each report costs
  ``tokens_per_request`` tokens; with ``enforce_quota`` (the default) a
  request beyond the concurrency limit, or beyond the tokens left, answers
  RESOURCE_EXHAUSTED with GA4's message. :meth:`GA4Emulator.reset_quota`
  refills the buckets (the emulator has no hours or days).
* :class:`Fault` injects errors, latency or empty pages by call number or
  offset. Statuses map to HTTP as Google's front ends map them (429, 403, 400,
  500, 503, 504, ...), so the REST client raises ``TooManyRequests``,
  ``Forbidden``, ``BadRequest``, ... where the gRPC client raises
  ``ResourceExhausted``, ``PermissionDenied``, ``InvalidArgument``, ...
* :attr:`GA4Emulator.requests` logs every report request (offset, limit,
  dimensions, metrics, transport, status) and
  :attr:`GA4Emulator.max_concurrent_requests` keeps the high-water mark of
  requests in flight.

Limits: no dimension/metric compatibility checks, no metric expressions,
pivots, cohorts, comparisons or realtime reports; ``metricAggregations`` only
for event data; a function-backed :class:`ReportTable` ignores ``orderBys``
(its index order is the report's order) and scans every row when filtered.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

import grpc
from google.analytics.data_v1beta import (
    BetaAnalyticsDataAsyncClient,
    BetaAnalyticsDataClient,
)
from google.analytics.data_v1beta.services.beta_analytics_data.transports import (
    BetaAnalyticsDataGrpcAsyncIOTransport,
    BetaAnalyticsDataGrpcTransport,
)
from google.auth.credentials import AnonymousCredentials, Credentials

from ga4_button_workflows.testing._emulator_model import (
    EmulatedEvent,
    Fault,
    QuotaLimits,
    ReportTable,
    TableRow,
)
from ga4_button_workflows.testing._emulator_schema import CUSTOM_PREFIX, METRIC_TYPES
from ga4_button_workflows.testing._emulator_servers import (
    UNLIMITED_MESSAGES,
    GrpcFrontEnd,
    RestFrontEnd,
)
from ga4_button_workflows.testing._emulator_service import EmulatorService

__all__ = ["GA4Emulator"]

logger = logging.getLogger(__name__)

ClientTransport = Literal["grpc", "grpc_asyncio", "rest"]


class GA4Emulator(EmulatorService):
    """A local GA4 Data API v1beta server (gRPC and REST) backed by events or a table.

    Start it with ``with`` / ``async with`` (or :meth:`start` / :meth:`stop`); both
    servers listen on free 127.0.0.1 ports. The settings below are public
    attributes, read on every request, so a test may change them while it runs.

    Args:
        events: The event table to report from.
        table: A pre-aggregated table to serve instead of events (see
            :meth:`from_rows`).
        property_id: The numeric GA4 property the emulator serves.
        extra_property_ids: More properties served from the same data.
        custom_dimensions: Event parameters registered as event-scoped custom
            dimensions (``button_type`` or ``customEvent:button_type``).
        custom_metrics: Parameters registered as custom metrics, mapped to their
            metric type (``{"hover_duration": "TYPE_MILLISECONDS"}``); a plain list
            of names registers ``TYPE_STANDARD`` metrics.
        time_zone: The property's IANA time zone, reported in ``metadata.timeZone``.
        today: The property's current day, for ``today`` / ``NdaysAgo``; ``None``
            reads the clock in ``time_zone``.
        currency_code: Reported in ``metadata.currencyCode``.
        subject_to_thresholding: Reported in ``metadata.subjectToThresholding``.
        sampling: (samplesReadCount, samplingSpaceSize) pairs reported in
            ``metadata.samplingMetadatas``.
        data_loss_from_other_row: Force ``metadata.dataLossFromOtherRow``.
        max_rows_before_other: Fold rows beyond this many into one ``(other)`` row.
        shuffle_ties: Shuffle rows that tie under the requested order on every call.
        quota: The property's quota limits (standard property limits by default).
        tokens_per_request: Tokens each report consumes (a flat cost; GA4 charges
            most small requests under 10).
        enforce_quota: Refuse requests beyond the concurrency or token limits.
        faults: Faults active from the start (see :meth:`inject`).
        max_workers: gRPC worker threads; more than the concurrency limit, so that
            excess requests are refused rather than queued.

    Raises:
        ValueError: A property ID that is not numeric, or an unknown metric type.
    """

    def __init__(
        self,
        events: Iterable[EmulatedEvent] = (),
        *,
        table: ReportTable | None = None,
        property_id: str | int = "123456789",
        extra_property_ids: Iterable[str | int] = (),
        custom_dimensions: Iterable[str] = (),
        custom_metrics: Mapping[str, str] | Iterable[str] = (),
        time_zone: str = "America/Los_Angeles",
        today: datetime.date | None = None,
        currency_code: str = "USD",
        subject_to_thresholding: bool = False,
        sampling: Iterable[tuple[int, int]] = (),
        data_loss_from_other_row: bool = False,
        max_rows_before_other: int | None = None,
        shuffle_ties: bool = False,
        quota: QuotaLimits | None = None,
        tokens_per_request: int = 1,
        enforce_quota: bool = True,
        faults: Iterable[Fault] = (),
        max_workers: int = 32,
    ) -> None:
        self.property_id = _numeric_property_id(property_id)
        """The numeric property the emulator serves."""
        super().__init__(
            events=tuple(events),
            property_ids=frozenset(
                {self.property_id, *map(_numeric_property_id, extra_property_ids)}
            ),
            faults=tuple(faults),
        )
        self.table = table
        """The pre-aggregated table served instead of events, if any."""
        self.custom_dimensions = frozenset(
            name.removeprefix(CUSTOM_PREFIX) for name in custom_dimensions
        )
        """Registered event-scoped custom dimensions (parameter names)."""
        self.custom_metrics = _metric_registrations(custom_metrics)
        """Registered custom metrics and their metric types."""
        self.time_zone = time_zone
        """The property's time zone, for relative dates and the metadata."""
        self.today = today
        """The property's today, for relative dates like ``yesterday``."""
        self.currency_code = currency_code
        """The currency reported in the metadata."""
        self.subject_to_thresholding = subject_to_thresholding
        """Report ``subjectToThresholding`` in the metadata."""
        self.sampling = tuple(sampling)
        """Sampling metadata to report, as (read, space) pairs."""
        self.data_loss_from_other_row = data_loss_from_other_row
        """Report ``dataLossFromOtherRow`` in the metadata."""
        self.max_rows_before_other = max_rows_before_other
        """Collapse rows past this many into ``(other)``."""
        self.shuffle_ties = shuffle_ties
        """Shuffle rows that tie on the sort order between pages, as GA4 may."""
        self.quota = quota or QuotaLimits()
        """The property quota the emulator enforces and reports."""
        self.tokens_per_request = tokens_per_request
        """Quota tokens each request consumes."""
        self.enforce_quota = enforce_quota
        """Answer 429 once a quota runs out."""
        self._max_workers = max_workers
        self._grpc: GrpcFrontEnd | None = None
        self._rest: RestFrontEnd | None = None
        self.property_today()  # fail now, not per request, on an unknown time zone

    @classmethod
    def from_rows(
        cls,
        dimensions: Sequence[str],
        metrics: Mapping[str, str] | Sequence[str],
        rows: Iterable[TableRow] | Callable[[int], TableRow],
        *,
        row_count: int | None = None,
        **options: Any,
    ) -> GA4Emulator:
        """An emulator serving a pre-aggregated report instead of events.

        Requests must ask for exactly the table's dimensions (in any order) and any
        of its metrics; date ranges are checked but select nothing.

        Args:
            dimensions: Dimension API names, in row order.
            metrics: Metric API names mapped to metric types, or a list of names
                (standard metrics get their GA4 type, others ``TYPE_INTEGER``).
            rows: ``(dimension values, metric values)`` rows, or a function from a
                row index to such a row. Metric values may be numbers or strings
                (sent verbatim, so ``"1.5e3"`` reaches the client as is).
            row_count: Number of rows; required with a row function.
            **options: Any other :class:`GA4Emulator` argument.

        Returns:
            The emulator, not yet started.

        Example:
            A million rows that cost no memory::

                GA4Emulator.from_rows(
                    ["customEvent:button_id", "eventName"],
                    ["eventCount", "totalUsers"],
                    lambda i: ((f"button-{i:07d}", "cta_click"), (i % 97 + 1, 1)),
                    row_count=1_000_000,
                )
        """
        if row_count is None:
            table = ReportTable(dimensions=dimensions, metrics=metrics, rows=rows)
        else:
            table = ReportTable(
                dimensions=dimensions, metrics=metrics, rows=rows, row_count=row_count
            )
        return cls(table=table, **options)

    # --- addresses and clients ---------------------------------------------------

    @property
    def property_name(self) -> str:
        """The resource name to request, ``properties/<property_id>``."""
        return f"properties/{self.property_id}"

    @property
    def grpc_target(self) -> str:
        """``127.0.0.1:PORT`` of the gRPC server."""
        return f"127.0.0.1:{self._running()[0].port}"

    @property
    def rest_endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` of the REST server, for ``api_endpoint``."""
        return f"http://127.0.0.1:{self._running()[1].port}"

    def client_kwargs(self, transport: ClientTransport = "grpc") -> dict[str, Any]:
        """Keyword arguments that point a Data API client at this emulator.

        Pass them to ``BetaAnalyticsDataClient(**kwargs)`` (``grpc``, ``rest``) or
        ``BetaAnalyticsDataAsyncClient(**kwargs)`` (``grpc_asyncio``).

        Args:
            transport: ``grpc``, ``grpc_asyncio`` or ``rest``.

        Returns:
            ``credentials``, ``transport`` and ``client_options``.
        """
        if transport == "rest":
            return {
                "credentials": _anonymous_credentials(),
                "transport": "rest",
                "client_options": {"api_endpoint": self.rest_endpoint},
            }
        return {
            "credentials": _anonymous_credentials(),
            "transport": _insecure_grpc_transport(transport),
            "client_options": {"api_endpoint": self.grpc_target},
        }

    def client(
        self, transport: Literal["grpc", "rest"] = "grpc"
    ) -> BetaAnalyticsDataClient:
        """A real ``BetaAnalyticsDataClient`` talking to this emulator.

        Close it when done (``with emulator.client() as client:``).
        """
        client = BetaAnalyticsDataClient(**self.client_kwargs(transport))
        session = getattr(client.transport, "_session", None)
        if session is not None:
            # A proxy from the environment must not intercept loopback calls.
            session.trust_env = False
        return client

    def async_client(self) -> BetaAnalyticsDataAsyncClient:
        """A real ``BetaAnalyticsDataAsyncClient`` (``grpc_asyncio``) for this emulator.

        Create and close it in the event loop that uses it
        (``async with emulator.async_client() as client:``).
        """
        return BetaAnalyticsDataAsyncClient(**self.client_kwargs("grpc_asyncio"))

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> GA4Emulator:
        """Start both servers on free 127.0.0.1 ports.

        Returns:
            The emulator, so that ``emulator = GA4Emulator(...).start()`` reads well.

        Raises:
            RuntimeError: It is running already.
        """
        if self._grpc is not None:
            raise RuntimeError("GA4Emulator is already running")
        self._stopping.clear()
        grpc_server = GrpcFrontEnd(self.dispatch, max_workers=self._max_workers)
        rest_server = RestFrontEnd(self.dispatch)
        grpc_server.start()
        rest_server.start()
        self._grpc, self._rest = grpc_server, rest_server
        logger.debug(
            "GA4 emulator serving %s on grpc %s and %s",
            self.property_name,
            self.grpc_target,
            self.rest_endpoint,
        )
        return self

    def stop(self) -> None:
        """Stop both servers; requests in progress finish, their latency cut short."""
        grpc_server, rest_server = self._grpc, self._rest
        self._grpc = self._rest = None
        self._stopping.set()
        if grpc_server is not None:
            grpc_server.stop()
        if rest_server is not None:
            rest_server.stop()

    def __enter__(self) -> GA4Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> GA4Emulator:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def _running(self) -> tuple[GrpcFrontEnd, RestFrontEnd]:
        if self._grpc is None or self._rest is None:
            raise RuntimeError(
                "GA4Emulator is not running; use 'with GA4Emulator(...) as emulator:' "
                "or call start() first"
            )
        return self._grpc, self._rest


def _numeric_property_id(value: str | int) -> str:
    text = str(value).removeprefix("properties/")
    if not text.isdigit():
        raise ValueError(
            f"{value!r} is not a numeric GA4 property ID; the emulator serves "
            "properties such as '123456789'"
        )
    return text


def _metric_registrations(
    custom_metrics: Mapping[str, str] | Iterable[str],
) -> dict[str, str]:
    if isinstance(custom_metrics, Mapping):
        pairs = list(custom_metrics.items())
    else:
        pairs = [(name, "TYPE_STANDARD") for name in custom_metrics]
    registrations = {}
    for name, metric_type in pairs:
        if metric_type not in METRIC_TYPES:
            raise ValueError(
                f"Custom metric {name!r} has type {metric_type!r}; use one of "
                f"{sorted(METRIC_TYPES)}"
            )
        registrations[name.removeprefix(CUSTOM_PREFIX)] = metric_type
    return registrations


def _anonymous_credentials() -> Credentials:
    return AnonymousCredentials()  # type: ignore[no-untyped-call]  # untyped upstream


def _insecure_grpc_transport(transport: ClientTransport) -> Callable[..., Any]:
    """A transport factory whose channel is plaintext, keeping the client's options."""

    def sync_channel(host: str, **kwargs: Any) -> grpc.Channel:
        return grpc.insecure_channel(
            host, options=kwargs.get("options") or UNLIMITED_MESSAGES
        )

    def aio_channel(host: str, **kwargs: Any) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(
            host, options=kwargs.get("options") or UNLIMITED_MESSAGES
        )

    if transport == "grpc_asyncio":
        return functools.partial(
            BetaAnalyticsDataGrpcAsyncIOTransport, channel=aio_channel
        )
    return functools.partial(BetaAnalyticsDataGrpcTransport, channel=sync_channel)
