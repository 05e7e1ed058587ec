"""The original landing page, its five variants and the analytics dashboard.

Visitors get one of five page variants (``original``, ``colors``, ``sizes``,
``spacing``, ``typography``), kept in a cookie; the page sends the GA4 events
the ``original_landing_page`` schema reads. The dashboard blueprint from
``ga4_button_workflows.contrib.flask`` is mounted beside it.

Settings come from environment variables:

``GA4_MEASUREMENT_ID``
    The web data stream's measurement ID (``G-...``). Without it the page
    loads no Google script and logs the events to the browser console.
``GA4_BUTTONS_PROPERTY_ID``
    The numeric GA4 property ID the dashboard analyses (default ``123456789``,
    fine with the sample data).
``GA4_BUTTONS_TEMPORAL_ADDRESS`` / ``GA4_BUTTONS_TEMPORAL_NAMESPACE``
    Where Temporal runs (default ``localhost:7233`` / ``default``).
``GA4_BUTTONS_TASK_QUEUE``
    The task queue the worker polls (default ``button-analytics``).
``GA4_BUTTONS_STORE_URL``
    The insight store the worker saves to (default
    ``json:button_insights.json``).
``GA4_BUTTONS_DASHBOARD_TOKEN``
    A password for the dashboard (HTTP Basic, any user name). Without it the
    dashboard answers requests from this machine only.

Run ``python examples/landing_page/app.py --demo`` to get an embedded Temporal
dev server and a worker on synthetic traffic in the same process.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import ipaddress
import logging
import os
import re
import secrets
import threading
from collections.abc import Mapping

from flask import Flask, Request, Response, render_template, request
from temporalio.worker import Worker
from werkzeug.wrappers import Response as BaseResponse

from ga4_button_workflows import ButtonAnalyticsPlugin
from ga4_button_workflows.contrib.flask import Authorize, create_blueprint
from ga4_button_workflows.devserver import embedded_dev_server
from ga4_button_workflows.names import DEFAULT_TASK_QUEUE
from ga4_button_workflows.ports import InsightStore
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores import MemoryInsightStore, open_store

VARIANTS = ("original", "colors", "sizes", "spacing", "typography")
"""The page variants, as the ``page_variant`` event parameter names them."""

VARIANT_COOKIE = "page_variant"
_MEASUREMENT_ID = re.compile(r"^G-[A-Z0-9]{4,20}$")
_VARIANT_COOKIE_AGE_S = 30 * 24 * 3600

logger = logging.getLogger("landing_page")


def measurement_id_from(value: str | None) -> str | None:
    """Return the measurement ID, None when unset.

    Raises:
        ValueError: the value is not a ``G-...`` measurement ID.
    """
    if not value:
        return None
    cleaned = value.strip().upper()
    if not _MEASUREMENT_ID.match(cleaned):
        raise ValueError(
            f"GA4_MEASUREMENT_ID={value!r} is not a GA4 measurement ID; copy the "
            "'G-...' ID of the web data stream (Admin > Data streams)"
        )
    return cleaned


def token_or_local(token: str | None) -> Authorize:
    """The dashboard's ``authorize`` hook: a Basic-auth password, or local only.

    Behind a reverse proxy every request comes from the proxy's address, which
    may be local: set a token there.
    """

    def authorize(req: Request) -> bool | BaseResponse:
        if token is None:
            return _is_loopback(req.remote_addr)
        given = req.authorization.password if req.authorization else None
        if given is not None and hmac.compare_digest(given, token):
            return True
        return Response(
            "Sign in to see the button analytics.\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Basic realm="button analytics"'},
        )

    return authorize


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def create_app(
    settings: Mapping[str, str] | None = None,
    *,
    store: InsightStore | None = None,
) -> Flask:
    """Build the landing page and mount the dashboard.

    Args:
        settings: The environment to read; ``os.environ`` when None.
        store: The insight store; opened from ``GA4_BUTTONS_STORE_URL`` when None.
    """
    env = os.environ if settings is None else settings
    measurement_id = measurement_id_from(env.get("GA4_MEASUREMENT_ID"))
    app = Flask(__name__)

    @app.get("/")
    def landing() -> Response:
        variant = request.args.get("variant")
        if variant not in VARIANTS:
            variant = request.cookies.get(VARIANT_COOKIE)
        if variant not in VARIANTS:
            variant = secrets.choice(VARIANTS)
        page = render_template(
            "landing.html",
            variant=variant,
            variants=VARIANTS,
            measurement_id=measurement_id,
        )
        response = Response(page, mimetype="text/html")
        response.set_cookie(
            VARIANT_COOKIE,
            variant,
            max_age=_VARIANT_COOKIE_AGE_S,
            samesite="Lax",
            httponly=True,
        )
        return response

    store_url = env.get("GA4_BUTTONS_STORE_URL", "json:button_insights.json")
    dashboard = create_blueprint(
        store=store or open_store(store_url),
        property_ids=env.get("GA4_BUTTONS_PROPERTY_ID", "123456789"),
        target_host=env.get("GA4_BUTTONS_TEMPORAL_ADDRESS", "localhost:7233"),
        namespace=env.get("GA4_BUTTONS_TEMPORAL_NAMESPACE", "default"),
        task_queue=env.get("GA4_BUTTONS_TASK_QUEUE", DEFAULT_TASK_QUEUE),
        authorize=token_or_local(env.get("GA4_BUTTONS_DASHBOARD_TOKEN")),
    )
    app.register_blueprint(dashboard)
    app.extensions["ga4_buttons_dashboard"] = dashboard
    return app


def _start_demo_backend(store: InsightStore, task_queue: str) -> str:
    """Run an embedded dev server and a sample-data worker on a daemon thread.

    Returns:
        The dev server's address.
    """
    ready = threading.Event()
    address: list[str] = []

    async def serve() -> None:
        plugin = ButtonAnalyticsPlugin(
            source=SampleDataSource(daily=True, previous_period=True), store=store
        )
        async with (
            embedded_dev_server(plugins=[plugin]) as env,
            Worker(env.client, task_queue=task_queue),
        ):
            address.append(env.client.service_client.config.target_host)
            ready.set()
            await asyncio.Event().wait()

    threading.Thread(target=asyncio.run, args=(serve(),), daemon=True).start()
    if not ready.wait(60):
        raise RuntimeError("the embedded Temporal dev server did not start in 60 s")
    return address[0]


def main() -> None:
    """Serve the example on http://127.0.0.1:5000 (never in debug mode)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start an embedded Temporal dev server and a sample-data worker",
    )
    options = parser.parse_args()
    logging.basicConfig(level=logging.INFO)

    settings = dict(os.environ)
    store = None
    if options.demo:
        store = MemoryInsightStore()
        queue = settings.get("GA4_BUTTONS_TASK_QUEUE", DEFAULT_TASK_QUEUE)
        settings["GA4_BUTTONS_TEMPORAL_ADDRESS"] = _start_demo_backend(store, queue)
        settings.setdefault("GA4_BUTTONS_TEMPORAL_NAMESPACE", "default")

    app = create_app(settings, store=store)
    print(f"Landing page: http://{options.host}:{options.port}/")  # noqa: T201
    print(f"Dashboard:    http://{options.host}:{options.port}/analytics")  # noqa: T201
    app.run(host=options.host, port=options.port, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
