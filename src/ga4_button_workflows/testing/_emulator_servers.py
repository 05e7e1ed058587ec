"""The emulator's two front ends: a gRPC server and a REST (JSON over HTTP) server.

Both decode a request into the Data API's protobuf message, hand it to one
:class:`Dispatcher`, and encode the answer or the :class:`RpcError` the way the
real API does on that transport.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol, TypeAlias
from urllib.parse import unquote, urlsplit

import grpc
from google.analytics.data_v1beta.types import (
    BatchRunReportsRequest,
    BatchRunReportsResponse,
    GetMetadataRequest,
    Metadata,
    RunReportRequest,
    RunReportResponse,
)
from google.protobuf import json_format

from ga4_button_workflows.testing._emulator_model import RpcError
from ga4_button_workflows.testing._emulator_reports import ProtoMessage
from ga4_button_workflows.testing._emulator_wire import (
    BatchAnswer,
    MetadataAnswer,
    ReportAnswer,
)

__all__ = ["Dispatcher", "GrpcFrontEnd", "RestFrontEnd"]

logger = logging.getLogger("ga4_button_workflows.testing.ga4_emulator")

SERVICE = "google.analytics.data.v1beta.BetaAnalyticsData"
UNLIMITED_MESSAGES = [
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
]
"""The channel options the Data API client sets; pages of 100,000 rows exceed 4 MB."""

Answer: TypeAlias = ReportAnswer | BatchAnswer | MetadataAnswer
Transport: TypeAlias = Literal["grpc", "rest"]


class Dispatcher(Protocol):
    """Answers one decoded request; raises :class:`RpcError` to refuse it."""

    def __call__(
        self, method: str, request: ProtoMessage, transport: Transport
    ) -> Answer: ...


# (gRPC method, REST method, request class, response class)
_METHODS = (
    ("RunReport", "runReport", RunReportRequest, RunReportResponse),
    (
        "BatchRunReports",
        "batchRunReports",
        BatchRunReportsRequest,
        BatchRunReportsResponse,
    ),
    ("GetMetadata", "getMetadata", GetMetadataRequest, Metadata),
)


class GrpcFrontEnd:
    """A ``grpc.server`` on 127.0.0.1 with generic handlers for BetaAnalyticsData."""

    def __init__(self, dispatch: Dispatcher, *, max_workers: int) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="ga4-emulator-grpc"
        )
        self._server = grpc.server(self._executor, options=UNLIMITED_MESSAGES)
        handlers = {
            grpc_name: grpc.unary_unary_rpc_method_handler(
                self._handler(dispatch, rest_name, response_class),
                request_deserializer=request_class.pb().FromString,
                response_serializer=_serialize,
            )
            for grpc_name, rest_name, request_class, response_class in _METHODS
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),)
        )
        self.port: int = self._server.add_insecure_port("127.0.0.1:0")

    @staticmethod
    def _handler(
        dispatch: Dispatcher, method: str, response_class: Any
    ) -> Callable[[ProtoMessage, grpc.ServicerContext], ProtoMessage]:
        def handle(request: ProtoMessage, context: grpc.ServicerContext) -> Any:
            try:
                return dispatch(method, request, "grpc").to_pb()
            except RpcError as error:
                context.set_code(grpc.StatusCode[error.status])
                context.set_details(error.message)
            except Exception as error:
                logger.exception("GA4 emulator failed to answer %s", method)
                context.set_code(grpc.StatusCode.INTERNAL)
                context.set_details(f"GA4 emulator error: {error!r}")
            return response_class.pb()()

        return handle

    def start(self) -> None:
        """Start serving."""
        self._server.start()

    def stop(self) -> None:
        """Stop serving, letting calls in progress finish for up to a second."""
        self._server.stop(grace=1.0).wait()
        self._executor.shutdown(wait=True)


def _serialize(message: ProtoMessage) -> bytes:
    serialized: bytes = message.SerializeToString()
    return serialized


_REPORT_PATH = re.compile(r"^/v1beta/(properties/[^/:]+):(runReport|batchRunReports)$")
_METADATA_PATH = re.compile(r"^/v1beta/(properties/[^/:]+/metadata)$")
_REQUEST_CLASSES = {rest: request for _, rest, request, _ in _METHODS}


class _RestHandler(BaseHTTPRequestHandler):
    """Routes the Data API's REST paths; one request per connection (HTTP/1.0)."""

    server: _RestServer
    server_version = "GA4Emulator"

    def do_POST(self) -> None:
        """Answer runReport and batchRunReports."""
        path, int_enums = _split_target(self.path)
        match = _REPORT_PATH.match(path)
        if match is None:
            self._send_error(_not_found("POST", path))
            return
        property_name, method = match.groups()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b"{}"
        self._answer(method, property_name, body, int_enums)

    def do_GET(self) -> None:
        """Answer getMetadata."""
        path, int_enums = _split_target(self.path)
        match = _METADATA_PATH.match(path)
        if match is None:
            self._send_error(_not_found("GET", path))
            return
        self._answer("getMetadata", match.group(1), b"{}", int_enums)

    def _answer(self, method: str, resource: str, body: bytes, int_enums: bool) -> None:
        try:
            request = _REQUEST_CLASSES[method].pb()()
            try:
                json_format.Parse(body or b"{}", request)
            except json_format.ParseError as error:
                raise RpcError(
                    "INVALID_ARGUMENT", f"Invalid JSON payload received. {error}"
                ) from error
            if method == "getMetadata":
                request.name = resource
            else:
                request.property = resource
            answer = self.server.dispatch(method, request, "rest")
        except RpcError as error:
            self._send_error(error)
            return
        except Exception as error:
            logger.exception("GA4 emulator failed to answer %s", method)
            self._send_error(RpcError("INTERNAL", f"GA4 emulator error: {error!r}"))
            return
        self._send_json(HTTPStatus.OK, answer.to_json(int_enums=int_enums))

    def _send_error(self, error: RpcError) -> None:
        body = {
            "error": {
                "code": error.http_status,
                "message": error.message,
                "status": error.status,
            }
        }
        self._send_json(error.http_status, body)

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Send access lines to the module logger instead of stderr."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("GA4 emulator rest: %s", format % args)


def _split_target(target: str) -> tuple[str, bool]:
    parts = urlsplit(target)
    return unquote(parts.path), "enum-encoding=int" in unquote(parts.query)


def _not_found(verb: str, path: str) -> RpcError:
    return RpcError("NOT_FOUND", f"The GA4 emulator does not serve {verb} {path}.")


class _RestServer(ThreadingHTTPServer):
    """A threading HTTP server that joins its request threads when closed."""

    daemon_threads = False
    dispatch: Dispatcher


class RestFrontEnd:
    """A stdlib HTTP server on 127.0.0.1 speaking the Data API's REST mapping."""

    def __init__(self, dispatch: Dispatcher) -> None:
        self._server = _RestServer(("127.0.0.1", 0), _RestHandler)
        self._server.dispatch = dispatch
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="ga4-emulator-rest",
            daemon=True,
        )

    def start(self) -> None:
        """Start serving in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and wait for requests in progress."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
