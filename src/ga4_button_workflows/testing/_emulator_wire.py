"""Answers in wire-neutral form, and their protobuf (gRPC) and JSON (REST) encodings.

The JSON encoding follows the proto3 JSON mapping as Google's front ends apply it:
camelCase names, int64 values as strings, default values left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from google.analytics.data_v1beta.types import (
    BatchRunReportsResponse,
    Metadata,
    RunReportResponse,
)

from ga4_button_workflows.testing._emulator_reports import (
    FormattedRow,
    ProtoMessage,
    ReportResult,
)
from ga4_button_workflows.testing._emulator_schema import (
    METRIC_TYPES,
    DimensionInfo,
    MetricInfo,
)

__all__ = [
    "BatchAnswer",
    "MetadataAnswer",
    "ReportAnswer",
    "ResponseMeta",
]

JsonObject = dict[str, Any]

QUOTA_FIELDS = (
    ("tokens_per_day", "tokensPerDay"),
    ("tokens_per_hour", "tokensPerHour"),
    ("concurrent_requests", "concurrentRequests"),
    ("server_errors_per_project_per_hour", "serverErrorsPerProjectPerHour"),
    (
        "potentially_thresholded_requests_per_hour",
        "potentiallyThresholdedRequestsPerHour",
    ),
    ("tokens_per_project_per_hour", "tokensPerProjectPerHour"),
)
"""(protobuf field, JSON name) of each PropertyQuota entry, in proto order."""


def _metric_type(name: str, int_enums: bool) -> str | int:
    return METRIC_TYPES[name] if int_enums else name


@attrs.frozen(kw_only=True)
class ResponseMeta:
    """The ``metadata`` block of a report response."""

    currency_code: str
    time_zone: str
    subject_to_thresholding: bool = False
    data_loss_from_other_row: bool = False
    sampling: tuple[tuple[int, int], ...] = ()
    """(samplesReadCount, samplingSpaceSize) per date range."""


@attrs.frozen(kw_only=True)
class ReportAnswer:
    """A runReport answer: the engine's page plus metadata and quota."""

    result: ReportResult
    meta: ResponseMeta
    quota: Mapping[str, tuple[int, int]] | None = None
    """(consumed, remaining) per PropertyQuota field, when the request asked."""

    def to_pb(self) -> ProtoMessage:
        """The RunReportResponse protobuf."""
        response = RunReportResponse.pb()()
        self.fill_pb(response)
        return response

    def fill_pb(self, response: ProtoMessage) -> None:
        """Write this answer into an empty RunReportResponse protobuf."""
        result = self.result
        for name in result.dimension_names:
            response.dimension_headers.add(name=name)
        for name, metric_type in result.metric_headers:
            response.metric_headers.add(name=name, type_=METRIC_TYPES[metric_type])
        for target, rows in (
            (response.rows, result.rows),
            (response.totals, result.totals),
            (response.maximums, result.maximums),
            (response.minimums, result.minimums),
        ):
            add_row = target.add
            for dimension_values, metric_values in rows:
                row = add_row()
                add_dimension = row.dimension_values.add
                for value in dimension_values:
                    add_dimension(value=value)
                add_metric = row.metric_values.add
                for value in metric_values:
                    add_metric(value=value)
        response.row_count = result.row_count

        meta = response.metadata
        meta.currency_code = self.meta.currency_code
        meta.time_zone = self.meta.time_zone
        meta.subject_to_thresholding = self.meta.subject_to_thresholding
        meta.data_loss_from_other_row = (
            self.meta.data_loss_from_other_row or result.data_loss_from_other_row
        )
        for read, space in self.meta.sampling:
            meta.sampling_metadatas.add(
                samples_read_count=read, sampling_space_size=space
            )

        if self.quota is not None:
            quota = response.property_quota
            for field, _ in QUOTA_FIELDS:
                consumed, remaining = self.quota[field]
                status = getattr(quota, field)
                status.consumed = consumed
                status.remaining = remaining
        response.kind = "analyticsData#runReport"

    def to_json(self, *, int_enums: bool = False) -> JsonObject:
        """The RunReportResponse as the REST front end sends it."""
        result = self.result
        body: JsonObject = {
            "dimensionHeaders": [{"name": name} for name in result.dimension_names],
            "metricHeaders": [
                {"name": name, "type": _metric_type(metric_type, int_enums)}
                for name, metric_type in result.metric_headers
            ],
        }
        for key, rows in (
            ("rows", result.rows),
            ("totals", result.totals),
            ("maximums", result.maximums),
            ("minimums", result.minimums),
        ):
            if rows:
                body[key] = _json_rows(rows)
        if result.row_count:
            body["rowCount"] = str(result.row_count)
        body["metadata"] = self._json_metadata()
        if self.quota is not None:
            body["propertyQuota"] = {
                json_name: _json_quota_status(*self.quota[field])
                for field, json_name in QUOTA_FIELDS
            }
        body["kind"] = "analyticsData#runReport"
        return body

    def _json_metadata(self) -> JsonObject:
        meta = self.meta
        body: JsonObject = {}
        if meta.data_loss_from_other_row or self.result.data_loss_from_other_row:
            body["dataLossFromOtherRow"] = True
        body["currencyCode"] = meta.currency_code
        body["timeZone"] = meta.time_zone
        if meta.subject_to_thresholding:
            body["subjectToThresholding"] = True
        if meta.sampling:
            body["samplingMetadatas"] = [
                {"samplesReadCount": str(read), "samplingSpaceSize": str(space)}
                for read, space in meta.sampling
            ]
        return body


def _json_rows(rows: Sequence[FormattedRow]) -> list[JsonObject]:
    return [
        {
            "dimensionValues": [{"value": value} for value in dimension_values],
            "metricValues": [{"value": value} for value in metric_values],
        }
        for dimension_values, metric_values in rows
    ]


def _json_quota_status(consumed: int, remaining: int) -> JsonObject:
    status: JsonObject = {}
    if consumed:
        status["consumed"] = consumed
    if remaining:
        status["remaining"] = remaining
    return status


@attrs.frozen(kw_only=True)
class BatchAnswer:
    """A batchRunReports answer."""

    reports: tuple[ReportAnswer, ...]

    def to_pb(self) -> ProtoMessage:
        """The BatchRunReportsResponse protobuf."""
        response = BatchRunReportsResponse.pb()()
        for report in self.reports:
            report.fill_pb(response.reports.add())
        response.kind = "analyticsData#batchRunReports"
        return response

    def to_json(self, *, int_enums: bool = False) -> JsonObject:
        """The BatchRunReportsResponse as JSON."""
        return {
            "reports": [report.to_json(int_enums=int_enums) for report in self.reports],
            "kind": "analyticsData#batchRunReports",
        }


@attrs.frozen(kw_only=True)
class MetadataAnswer:
    """A getMetadata answer."""

    name: str
    dimensions: tuple[tuple[str, DimensionInfo, bool], ...]
    """(API name, info, is a custom definition) per dimension."""
    metrics: tuple[tuple[str, MetricInfo, bool], ...]
    """(API name, info, is a custom definition) per metric."""

    def to_pb(self) -> ProtoMessage:
        """The Metadata protobuf."""
        response = Metadata.pb()()
        response.name = self.name
        for api_name, dimension, custom in self.dimensions:
            response.dimensions.add(
                api_name=api_name,
                ui_name=dimension.ui_name,
                description=dimension.description,
                custom_definition=custom,
                category=dimension.category,
            )
        for api_name, metric, custom in self.metrics:
            response.metrics.add(
                api_name=api_name,
                ui_name=metric.ui_name,
                description=metric.description,
                type_=METRIC_TYPES[metric.type],
                custom_definition=custom,
                category=metric.category,
            )
        return response

    def to_json(self, *, int_enums: bool = False) -> JsonObject:
        """The Metadata as JSON."""
        dimensions = []
        for api_name, dimension, custom in self.dimensions:
            entry: JsonObject = {
                "apiName": api_name,
                "uiName": dimension.ui_name,
                "description": dimension.description,
                "category": dimension.category,
            }
            if custom:
                entry["customDefinition"] = True
            dimensions.append(entry)
        metrics = []
        for api_name, metric, custom in self.metrics:
            entry = {
                "apiName": api_name,
                "uiName": metric.ui_name,
                "description": metric.description,
                "type": _metric_type(metric.type, int_enums),
                "category": metric.category,
            }
            if custom:
                entry["customDefinition"] = True
            metrics.append(entry)
        return {"name": self.name, "dimensions": dimensions, "metrics": metrics}
