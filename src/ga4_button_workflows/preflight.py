"""Pre-flight check: does a GA4 property have what an event schema reads?

GA4 collects a custom parameter only from the day it is registered as a
custom definition, and a report that names an unregistered one fails. This
check asks GA4's ``getMetadata`` for the property's dimensions and metrics
and lists those the schema needs but the property lacks, with what to do,
before any analysis runs. The command line's ``ga4-buttons check`` prints it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, Literal

import attrs
from temporalio.exceptions import ApplicationError

from ga4_button_workflows.models import EventSchema, validate_property_id
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.sources._ga4_rows import (
    DURATION_METRIC_TYPES,
    METRIC_TYPE_NAMES,
    UNITLESS_METRIC_TYPES,
)
from ga4_button_workflows.sources.ga4 import GA4DataSource

__all__ = [
    "MissingDefinition",
    "PreflightError",
    "PreflightResult",
    "check_metadata",
    "check_property",
    "required_fields",
]

_CUSTOM_PREFIX = "customEvent:"
_WHERE_DEFINITIONS_ARE = "Admin > Data display > Custom definitions"
_READABLE_DURATION_TYPES = DURATION_METRIC_TYPES.keys() | UNITLESS_METRIC_TYPES


class PreflightError(ValueError):
    """GA4 refused the check itself: no access, bad credentials, an outage.

    Attributes:
        error_type: The classified error's type, e.g. ``GA4PermissionDenied``.
        retryable: True when trying again later may succeed (quota, outage).
    """

    def __init__(self, message: str, *, error_type: str, retryable: bool) -> None:
        super().__init__(message)
        self.error_type = error_type
        """The ``ApplicationError`` type the same failure has inside the workflow."""
        self.retryable = retryable
        """True when asking again later may succeed (quota, server errors)."""


@attrs.frozen(kw_only=True)
class MissingDefinition:
    """A dimension or metric the schema reads that the property does not have."""

    api_name: str
    """The API name, e.g. ``customEvent:button_type``."""
    kind: Literal["dimension", "metric"]
    """Whether the schema reads it as a dimension or a metric."""
    hint: str
    """What to do about it."""


@attrs.frozen(kw_only=True)
class PreflightResult:
    """What the pre-flight check found."""

    property_id: str
    """The numeric GA4 property ID checked."""
    schema_name: str
    """The event schema checked against."""
    missing: tuple[MissingDefinition, ...] = ()
    """Definitions the schema needs that the property lacks."""
    warnings: tuple[str, ...] = ()
    """Things that work but deserve a look, such as a duration without a unit."""

    @property
    def ready(self) -> bool:
        """True when every dimension and metric the schema reads exists."""
        return not self.missing

    @property
    def missing_dimensions(self) -> tuple[str, ...]:
        """API names of the missing dimensions."""
        return tuple(m.api_name for m in self.missing if m.kind == "dimension")

    @property
    def missing_metrics(self) -> tuple[str, ...]:
        """API names of the missing metrics."""
        return tuple(m.api_name for m in self.missing if m.kind == "metric")

    def summary(self) -> str:
        """The result in plain words, one finding per line."""
        lines = []
        if self.ready:
            lines.append(
                f"GA4 property {self.property_id} has every dimension and metric "
                f"the {self.schema_name!r} schema reads."
            )
        else:
            lines.append(
                f"GA4 property {self.property_id} lacks {len(self.missing)} "
                f"definition(s) the {self.schema_name!r} schema reads:"
            )
            lines.extend(f"  - {m.kind} {m.api_name}: {m.hint}" for m in self.missing)
        lines.extend(f"Note: {warning}" for warning in self.warnings)
        return "\n".join(lines)


def required_fields(schema: EventSchema) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the (dimensions, metrics) a fetch with ``schema`` asks GA4 for."""
    dimensions = ["eventName"]
    for name in (schema.button_dimension, schema.variant_dimension):
        if name is not None and name not in dimensions:
            dimensions.append(name)
    metrics: list[str] = []
    for rule in schema.rules:
        name = rule.count_metric or "eventCount"
        if name not in metrics:
            metrics.append(name)
    metrics.append("totalUsers")
    if schema.duration_metric is not None:
        metrics.append(schema.duration_metric)
    return tuple(dimensions), tuple(metrics)


def check_metadata(
    metadata: Any, schema: EventSchema, *, property_id: str
) -> PreflightResult:
    """Compare a property's ``Metadata`` with what ``schema`` reads.

    Args:
        metadata: The ``getMetadata`` answer, proto-plus or raw protobuf.
        schema: The event schema to check.
        property_id: The numeric property ID, for the messages.
    """
    dimensions = {item.api_name for item in metadata.dimensions}
    metric_types = {
        item.api_name: METRIC_TYPE_NAMES.get(int(item.type_), "TYPE_STANDARD")
        for item in metadata.metrics
    }
    wanted_dimensions, wanted_metrics = required_fields(schema)

    missing = [
        MissingDefinition(
            api_name=name, kind="dimension", hint=_hint(name, "dimension", schema)
        )
        for name in wanted_dimensions
        if name not in dimensions
    ]
    missing += [
        MissingDefinition(
            api_name=name, kind="metric", hint=_hint(name, "metric", schema)
        )
        for name in wanted_metrics
        if name not in metric_types
    ]
    duration_type = metric_types.get(schema.duration_metric or "")
    if duration_type is not None and duration_type not in _READABLE_DURATION_TYPES:
        missing.append(
            MissingDefinition(
                api_name=schema.duration_metric or "",
                kind="metric",
                hint=(
                    f"it is registered with the type {duration_type}, which is "
                    "not a duration; register the hover duration with the unit "
                    "Milliseconds (the fetch refuses other units)"
                ),
            )
        )
    return PreflightResult(
        property_id=property_id,
        schema_name=schema.name,
        missing=tuple(missing),
        warnings=tuple(_warnings(schema, metric_types)),
    )


async def check_property(
    property_id: str,
    *,
    schema: EventSchema = ORIGINAL_LANDING_PAGE,
    credentials: Any = None,
    credentials_file: str | os.PathLike[str] | None = None,
    source: GA4DataSource | None = None,
) -> PreflightResult:
    """Ask GA4 which dimensions and metrics ``schema`` needs that the property lacks.

    Args:
        property_id: The numeric GA4 property ID (``properties/`` accepted).
        schema: The event schema the analyses will use.
        credentials: Ready ``google.auth`` credentials; Application Default
            Credentials when neither these nor ``credentials_file`` are given.
        credentials_file: A service-account key file.
        source: A :class:`~ga4_button_workflows.sources.ga4.GA4DataSource` to
            ask through instead (its client and credentials); the caller
            closes it.

    Raises:
        ValueError: ``property_id`` is not a numeric property ID (a
            measurement ID ``G-...`` for instance).
        PreflightError: GA4 refused the check (no access, bad credentials,
            quota, outage); a ``ValueError`` too, with the classified reason.
    """
    checked = validate_property_id(property_id)
    owned = source is None
    if source is None:
        source = GA4DataSource(
            schema=schema, credentials=credentials, credentials_file=credentials_file
        )
    try:
        metadata = await source.get_metadata(checked)
    except ApplicationError as error:
        raise PreflightError(
            str(error), error_type=error.type or "", retryable=not error.non_retryable
        ) from error
    finally:
        if owned:
            await source.aclose()
    return check_metadata(metadata, schema, property_id=checked)


def _hint(name: str, kind: str, schema: EventSchema) -> str:
    if not name.startswith(_CUSTOM_PREFIX):
        return (
            f"GA4 has no {kind} called {name} for this property; check the "
            f"{schema.name!r} schema's names against GA4's API schema"
        )
    parameter = name.removeprefix(_CUSTOM_PREFIX)
    unit = ""
    if kind == "metric" and name == schema.duration_metric:
        unit = ", unit Milliseconds"
    return (
        f"register the event parameter {parameter!r} as a custom {kind} (scope "
        f"Event{unit}) under {_WHERE_DEFINITIONS_ARE}; GA4 fills it only for "
        "events collected after registration (no backfill)"
    )


def _warnings(schema: EventSchema, metric_types: dict[str, str]) -> Iterable[str]:
    duration = schema.duration_metric
    if duration is None or duration not in metric_types:
        return
    metric_type = metric_types[duration]
    if metric_type in UNITLESS_METRIC_TYPES:
        yield (
            f"{duration} is registered with the type {metric_type}, not a time "
            "unit; its values are read as milliseconds, as the page sends them"
        )
