"""The Flask blueprint: the analysis API and the dashboard page."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, NoReturn, TypeVar

from flask import (
    Blueprint,
    Request,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask.sansio.app import App
from flask.sansio.blueprints import BlueprintSetupState
from temporalio.client import Client
from werkzeug.wrappers import Response as BaseResponse

from ga4_button_workflows.contrib.flask._dashboard import STEPS, build_dashboard
from ga4_button_workflows.contrib.flask._loop import BackgroundLoop, LoopClosedError
from ga4_button_workflows.contrib.flask._temporal import (
    AnalysisNotFoundError,
    AnalysisState,
    AnalysisStatus,
    TemporalGateway,
    TemporalUnavailableError,
    client_target,
)
from ga4_button_workflows.converter import data_converter
from ga4_button_workflows.insights import insights_document
from ga4_button_workflows.models import (
    GA4_HISTORY_LIMIT_DAYS,
    AnalysisRecord,
    local_date,
    validate_property_id,
)
from ga4_button_workflows.names import DEFAULT_TASK_QUEUE
from ga4_button_workflows.ports import InsightStore

__all__ = [
    "MAX_DAYS_BACK",
    "AnalyticsBlueprint",
    "Authorize",
    "create_blueprint",
]

logger = logging.getLogger("ga4_button_workflows.contrib.flask")

MAX_DAYS_BACK = GA4_HISTORY_LIMIT_DAYS
"""The longest period the API accepts, in days, as on the command line."""

_MAX_BODY_BYTES = 4096
_BODY_KEYS = frozenset({"days_back", "property_id"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})
_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

Authorize = Callable[[Request], bool | BaseResponse]
"""``authorize(request) -> True | False | Response``: the host's access check."""

_T = TypeVar("_T")


class _ApiError(Exception):
    """Ends an API request with a JSON error body."""

    def __init__(self, status_code: int, message: str, *, status: str = "error"):
        super().__init__(message)
        self.status_code = status_code
        self.body = {"status": status, "error": message}


class AnalyticsBlueprint(Blueprint):
    """The blueprint :func:`create_blueprint` returns.

    A plain :class:`flask.Blueprint` plus :meth:`close`, which stops the
    background event loop that talks to Temporal and the store.
    """

    def __init__(
        self, name: str, import_name: str, *, runner: BackgroundLoop, **options: Any
    ) -> None:
        super().__init__(name, import_name, **options)
        self._runner = runner

    def close(self) -> None:
        """Stop the background loop; later API calls answer 503.

        Call it when the host shuts down (tests, embedded servers). A process
        that simply exits needs no call: the loop runs on a daemon thread.
        """
        self._runner.close()


def create_blueprint(
    *,
    store: InsightStore,
    property_ids: str | Sequence[str],
    client: Client | Callable[[], Awaitable[Client]] | None = None,
    target_host: str | None = None,
    namespace: str = "default",
    task_queue: str = DEFAULT_TASK_QUEUE,
    authorize: Authorize | None = None,
    time_zone: str = "UTC",
    notify: bool = True,
    name: str = "ga4_buttons",
    url_prefix: str | None = None,
    timeout_s: float = 15.0,
) -> AnalyticsBlueprint:
    """Build the blueprint with the analysis API and the ``/analytics`` dashboard.

    Routes, relative to ``url_prefix``:

    * ``POST /api/analyze-buttons``: JSON ``{"days_back": 7}`` (1-434, default
      7) and optionally ``"property_id"``; starts the analysis without waiting
      and answers 202 with the workflow ID, run ID and ``status_url``.
    * ``GET /api/analysis/<workflow_id>``: ``running`` (with the steps done so
      far), ``completed`` (with the insights) or ``failed`` (with the reason).
    * ``GET /api/button-insights``: the latest saved insights document, or 404
      ``{"status": "no_data"}``.
    * ``GET /analytics``: the dashboard.

    Reach Temporal with exactly one of ``client`` and ``target_host``. Calls to
    Temporal and to the store run on one event loop on a background thread
    that the blueprint owns; views wait for them at most ``timeout_s``.

    Args:
        store: Where the worker saves analyses; the dashboard reads it.
        property_ids: The numeric GA4 property ID the dashboard serves, or
            several; the first is the default. Other properties are refused.
        client: A connected Temporal client, or an ``async`` function that
            connects one (awaited once, on the blueprint's loop, on first use).
            Prefer the function under pre-forking servers such as gunicorn.
            The library's data converter is added when the client lacks it.
        target_host: Instead of ``client``: the Temporal frontend address,
            e.g. ``localhost:7233``; connected on first use.
        namespace: The namespace, with ``target_host``.
        task_queue: The task queue the analysis workers poll.
        authorize: Called with the request before every route (pages, API and
            static files). Return True to allow, False to answer 403, or a
            response (a redirect to a login page, a 401 challenge) to answer
            with it. Without it, anyone who can reach the routes may start
            analyses: put the routes behind the host's own authentication.
        time_zone: The properties' reporting time zone (IANA name).
        notify: Ask the workflow to send notifications after saving.
        name: The blueprint name, to register it more than once.
        url_prefix: Where to mount the routes.
        timeout_s: The longest a view waits for Temporal or the store.

    Returns:
        The blueprint. Call its ``close()`` when the host shuts down.

    Raises:
        ValueError: not exactly one of ``client`` and ``target_host``, no or an
            invalid property ID, an unknown time zone or a non-positive timeout.
    """
    properties = _property_list(property_ids)
    if (client is None) == (target_host is None):
        raise ValueError(
            "give create_blueprint exactly one way to reach Temporal: client= (a "
            "Client or an async function returning one) or target_host= (such as "
            "'localhost:7233')"
        )
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
    local_date(datetime.datetime.now(datetime.timezone.utc), time_zone)
    if authorize is None:
        logger.warning(
            "the %s dashboard has no authorize hook: anyone who can reach it can "
            "read insights and start analyses; pass authorize= or protect the "
            "routes in the host",
            name,
        )

    connect, target = _connector(client, target_host, namespace)
    gateway = TemporalGateway(
        connect,
        target=target,
        task_queue=task_queue,
        time_zone=time_zone,
        notify=notify,
        property_ids=properties,
    )
    runner = BackgroundLoop(f"{name}-event-loop")
    blueprint = AnalyticsBlueprint(
        name,
        __name__,
        runner=runner,
        url_prefix=url_prefix,
        template_folder="templates",
        static_folder="static",
        static_url_path="/_ga4_buttons/static",
    )
    routes = _Routes(
        blueprint=blueprint,
        store=store,
        gateway=gateway,
        runner=runner,
        properties=properties,
        authorize=authorize,
        timeout_s=timeout_s,
    )
    routes.register()
    return blueprint


def _property_list(property_ids: str | Sequence[str]) -> tuple[str, ...]:
    values = [property_ids] if isinstance(property_ids, str) else list(property_ids)
    if not values:
        raise ValueError(
            "property_ids is empty; give the numeric GA4 property ID the dashboard "
            "serves (Admin > Property settings)"
        )
    return tuple(dict.fromkeys(validate_property_id(value) for value in values))


def _connector(
    client: Client | Callable[[], Awaitable[Client]] | None,
    target_host: str | None,
    namespace: str,
) -> tuple[Callable[[], Awaitable[Client]], str]:
    if isinstance(client, Client):
        ready = client

        async def given() -> Client:
            return ready

        return given, client_target(client)
    if client is not None:
        return client, "the address the client function connects to"
    assert target_host is not None
    host = target_host

    async def connect() -> Client:
        return await Client.connect(
            host, namespace=namespace, data_converter=data_converter
        )

    return connect, f"{host} (namespace {namespace})"


class _Routes:
    """The views, the guard before them and the headers after them."""

    def __init__(
        self,
        *,
        blueprint: AnalyticsBlueprint,
        store: InsightStore,
        gateway: TemporalGateway,
        runner: BackgroundLoop,
        properties: tuple[str, ...],
        authorize: Authorize | None,
        timeout_s: float,
    ) -> None:
        self._blueprint = blueprint
        self._store = store
        self._gateway = gateway
        self._runner = runner
        self._properties = properties
        self._authorize = authorize
        self._timeout_s = timeout_s

    def register(self) -> None:
        blueprint = self._blueprint
        blueprint.record_once(_refuse_debug_app)
        blueprint.before_request(self._guard)
        blueprint.after_request(_security_headers)
        blueprint.register_error_handler(_ApiError, _api_error)
        blueprint.add_url_rule(
            "/api/analyze-buttons",
            "analyze_buttons",
            self.analyze_buttons,
            methods=["POST"],
        )
        blueprint.add_url_rule(
            "/api/analysis/<path:workflow_id>", "analysis_status", self.analysis_status
        )
        blueprint.add_url_rule(
            "/api/button-insights", "button_insights", self.button_insights
        )
        blueprint.add_url_rule("/analytics", "dashboard", self.dashboard)

    # --- guard -------------------------------------------------------------------

    def _guard(self) -> BaseResponse | None:
        if current_app.debug:
            logger.error(
                "refusing to serve %s: Flask debug mode is on, and the Werkzeug "
                "debugger runs code for anyone who reaches it",
                request.path,
            )
            return _plain(500, "The analytics dashboard is disabled in debug mode.")

        if self._authorize is not None:
            verdict = self._authorize(request)
            if isinstance(verdict, BaseResponse):
                return verdict
            if verdict is False:
                if _wants_json():
                    return _json_error(403, "not authorized", status="forbidden")
                return _plain(403, "Not authorized.")
            if verdict is not True:
                raise TypeError(
                    "authorize must return True, False or a response, not "
                    f"{type(verdict).__name__}"
                )

        if request.method not in _SAFE_METHODS:
            fetch_site = request.headers.get("Sec-Fetch-Site")
            if fetch_site is not None and fetch_site not in _SAME_ORIGIN_FETCH:
                return _json_error(
                    403,
                    f"cross-site requests are refused (Sec-Fetch-Site: {fetch_site})",
                    status="forbidden",
                )
        return None

    # --- API ---------------------------------------------------------------------

    def analyze_buttons(self) -> tuple[Response, int, dict[str, str]]:
        body = _json_object()
        unknown = sorted(set(body) - _BODY_KEYS)
        if unknown:
            _fail(
                400,
                f"unknown field(s) {', '.join(map(json.dumps, unknown))}; the body "
                'takes "days_back" and optionally "property_id"',
            )
        days_back = _days_back(body.get("days_back", 7))
        property_id = self._property(body.get("property_id"))

        try:
            started = self._call(self._gateway.start(property_id, days_back))
        except ValueError as error:
            _fail(400, str(error))
        status_url = url_for(
            ".analysis_status",
            workflow_id=started.workflow_id,
            run_id=started.run_id,
        )
        payload = {
            "status": "running",
            "workflow_id": started.workflow_id,
            "run_id": started.run_id,
            "property_id": property_id,
            "days_back": days_back,
            "status_url": status_url,
        }
        return jsonify(payload), 202, {"Location": status_url}

    def analysis_status(self, workflow_id: str) -> Response:
        run_id = request.args.get("run_id") or None
        try:
            status = self._call(self._gateway.status(workflow_id, run_id))
        except AnalysisNotFoundError:
            _fail(
                404,
                f"no button analysis with workflow ID {json.dumps(workflow_id)}",
                status="not_found",
            )
        return jsonify(_status_body(status))

    def button_insights(self) -> tuple[Response, int]:
        property_id = self._property(request.args.get("property_id"))
        record = self._call(self._store.latest_analysis(property_id))
        if record is None:
            _fail(
                404,
                f"no analysis of property {property_id} has been saved yet; POST "
                f"{url_for('.analyze_buttons')} to run one",
                status="no_data",
            )
        return jsonify(insights_document(record.insights)), 200

    # --- page --------------------------------------------------------------------

    def dashboard(self) -> tuple[str, int]:
        property_id = self._property_for_page(request.args.get("property_id"))
        record: AnalysisRecord | None
        analysis_id = request.args.get("analysis")
        if analysis_id:
            record = self._call(self._store.get_analysis(analysis_id))
            if record is not None and record.property_id not in self._properties:
                record = None
            status = 200 if record is not None else 404
        else:
            record = self._call(self._store.latest_analysis(property_id))
            status = 200
        page = render_template(
            "ga4_buttons/dashboard.html",
            dashboard=None if record is None else build_dashboard(record),
            property_id=record.property_id if record is not None else property_id,
            properties=self._properties,
            missing_analysis=analysis_id if record is None else None,
            steps=STEPS,
            task_queue=self._gateway.task_queue,
            max_days_back=MAX_DAYS_BACK,
            blueprint=self._blueprint.name,
        )
        return page, status

    # --- helpers -----------------------------------------------------------------

    def _property(self, value: object) -> str:
        if value is None:
            return self._properties[0]
        if not isinstance(value, str):
            _fail(
                400,
                f'property_id must be a string such as "123456789", not '
                f"{json.dumps(value)}",
            )
        try:
            property_id = validate_property_id(value)
        except ValueError as error:
            _fail(400, str(error))
        if property_id not in self._properties:
            _fail(
                400,
                f"property {property_id} is not one this dashboard serves "
                f"({', '.join(self._properties)})",
            )
        return property_id

    def _property_for_page(self, value: str | None) -> str:
        try:
            return self._property(value)
        except _ApiError:
            return self._properties[0]

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        try:
            return self._runner.run(coroutine, timeout_s=self._timeout_s)
        except TemporalUnavailableError as error:
            logger.warning("%s", error)
            _fail(503, str(error), status="unavailable")
        except LoopClosedError:
            _fail(503, "the analytics blueprint was closed", status="unavailable")
        except TimeoutError:
            logger.warning(
                "Temporal or the insight store gave no answer within %g s",
                self._timeout_s,
            )
            _fail(
                504,
                f"no answer from Temporal or the insight store within "
                f"{self._timeout_s:g} s",
                status="unavailable",
            )


def _status_body(status: AnalysisStatus) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": status.state.value,
        "workflow_id": status.workflow_id,
        "run_id": status.run_id,
        "property_id": status.property_id,
        "started_at": status.started_at.isoformat(),
        "closed_at": None if status.closed_at is None else status.closed_at.isoformat(),
    }
    if status.state is AnalysisState.RUNNING:
        body["progress"] = [
            {
                "step": step.step,
                "detail": step.detail,
                "finished_at": step.finished_at.isoformat(),
            }
            for step in status.progress
        ]
        body["progress_available"] = status.progress_available
    if status.state is AnalysisState.COMPLETED and status.outcome is not None:
        outcome = status.outcome
        body["insights"] = insights_document(outcome.insights)
        body["saved"] = {
            "status": outcome.saved.status.value,
            "detail": outcome.saved.detail,
        }
        body["notified"] = {
            "status": outcome.notified.status.value,
            "detail": outcome.notified.detail,
        }
        body["rows_read"] = outcome.rows_read
        body["pages_fetched"] = outcome.pages_fetched
        body["dashboard_url"] = url_for(".dashboard", property_id=status.property_id)
    if status.state is AnalysisState.FAILED:
        body["reason"] = status.reason
        body["closed_as"] = status.closed_as
    return body


def _json_object() -> dict[str, Any]:
    if not request.is_json:
        _fail(
            415,
            "send the body as JSON with Content-Type: application/json, not "
            f"{json.dumps(request.content_type or 'no content type')}",
        )
    length = request.content_length
    if length is not None and length > _MAX_BODY_BYTES:
        _fail(413, f"the body is {length:,} bytes; at most {_MAX_BODY_BYTES:,}")
    raw = request.get_data(cache=False, as_text=False)
    if len(raw) > _MAX_BODY_BYTES:
        _fail(413, f"the body is over {_MAX_BODY_BYTES:,} bytes")
    if not raw.strip():
        _fail(400, 'the body is empty; send a JSON object such as {"days_back": 7}')
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        _fail(400, f"the body is not valid JSON: {error}")
    if not isinstance(body, dict):
        _fail(400, f"the body must be a JSON object, not {type(body).__name__}")
    return body


def _days_back(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(
            400,
            f"days_back must be a whole number of days from 1 to {MAX_DAYS_BACK}, "
            f"not {json.dumps(value)}",
        )
    if not 1 <= value <= MAX_DAYS_BACK:
        _fail(400, f"days_back must be from 1 to {MAX_DAYS_BACK} days, not {value}")
    return value


def _fail(status_code: int, message: str, *, status: str = "error") -> NoReturn:
    raise _ApiError(status_code, message, status=status)


def _api_error(error: _ApiError) -> tuple[Response, int]:
    return jsonify(error.body), error.status_code


def _json_error(status_code: int, message: str, *, status: str) -> Response:
    response = jsonify({"status": status, "error": message})
    response.status_code = status_code
    return response


def _plain(status_code: int, message: str) -> Response:
    return Response(message + "\n", status=status_code, mimetype="text/plain")


def _wants_json() -> bool:
    return "/api/" in request.path or request.is_json


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", _PAGE_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype in ("text/html", "application/json"):
        # Insights are the host's private data: keep them out of shared caches.
        headers.setdefault("Cache-Control", "no-store")
    return response


def _refuse_debug_app(state: BlueprintSetupState) -> None:
    _check_not_debug(state.app)


def _check_not_debug(app: App) -> None:
    if app.debug:
        raise RuntimeError(
            f"refusing to register the analytics dashboard on {app.name!r} in debug "
            "mode: the Werkzeug debugger runs code for anyone who reaches it; turn "
            "debug off (FLASK_DEBUG=0, app.run(debug=False))"
        )
