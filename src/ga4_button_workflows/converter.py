"""A Temporal data converter that understands attrs models.

temporalio's default JSON converter cannot encode attrs instances. This one
unstructures every value with cattrs before writing JSON and structures it back
into the type the workflow or activity signature names. Payloads keep the
standard ``json/plain`` encoding, so other SDKs and the Temporal UI read them
as ordinary JSON.

Fields added to a model in a later version carry defaults, and keys a newer
version wrote are ignored, so histories recorded by other versions still
decode.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
from typing import Any

import cattrs
import cattrs.preconf.json
from cattrs.strategies import configure_union_passthrough
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
)
from temporalio.exceptions import ApplicationError

__all__ = [
    "INVALID_PAYLOAD",
    "AttrsJSONPayloadConverter",
    "ButtonAnalyticsPayloadConverter",
    "data_converter",
    "install_converter",
    "make_cattrs_converter",
]

_ENCODING = "json/plain"

INVALID_PAYLOAD = "InvalidPayload"
"""The ``ApplicationError`` type of a payload that does not fit its model."""


def make_cattrs_converter() -> cattrs.Converter:
    """Return the cattrs converter the library uses for JSON documents.

    Dates and datetimes become ISO 8601 strings (aware datetimes keep their
    offset), enums their values, tuples lists. Extra keys are ignored and
    missing keys take the model's defaults. Whole-number and true/false fields
    take only such values: cattrs alone would read 7.5 as 7 and ``"false"``
    as true.
    """
    converter = cattrs.preconf.json.make_converter()
    converter.register_unstructure_hook(datetime.date, lambda value: value.isoformat())
    converter.register_structure_hook(
        datetime.date, lambda value, _: datetime.date.fromisoformat(value)
    )
    converter.register_unstructure_hook(
        datetime.datetime, lambda value: value.isoformat()
    )
    converter.register_structure_hook(
        datetime.datetime, lambda value, _: datetime.datetime.fromisoformat(value)
    )
    converter.register_structure_hook(int, _whole_number)
    converter.register_structure_hook(bool, _boolean)
    configure_union_passthrough(int | float | str | bool | None, converter)
    return converter


def _problem(error: BaseException, type_: type | None) -> str:
    if isinstance(error, (TypeError, ValueError)) and str(error):
        return str(error)
    return cattrs.v.format_exception(error, type_)


def _boolean(value: object, _: object) -> bool:
    """Structure a ``bool`` field without cattrs' ``bool("false") is True``."""
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected true or false, got {value!r}")


def _whole_number(value: object, _: object) -> int:
    """Structure an ``int`` field without cattrs' silent ``int(7.5) == 7``.

    A whole float (``7.0``, as some JSON writers spell integers) is accepted;
    fractions, booleans and strings are refused with the value named.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(f"expected a whole number, got {value!r}")


@functools.cache
def _shared_converter() -> cattrs.Converter:
    # The SDK builds a payload converter for every workflow run; sharing one
    # cattrs converter keeps its generated (un)structure functions, which cost
    # far more to build than to use. Building them is deterministic.
    return make_cattrs_converter()


class AttrsJSONPayloadConverter(EncodingPayloadConverter):
    """``json/plain`` payloads through cattrs, for attrs models and plain values.

    NaN and infinity are refused on the way out: a float that is not finite is a
    bug upstream, and JSON has no portable spelling for it.
    """

    def __init__(self, converter: cattrs.Converter | None = None) -> None:
        self._converter = converter or _shared_converter()
        self._fallback = JSONPlainPayloadConverter()

    @property
    def encoding(self) -> str:
        """See base class."""
        return _ENCODING

    def to_payload(self, value: Any) -> Payload | None:
        """See base class."""
        plain = self._converter.unstructure(value)
        try:
            data = json.dumps(plain, separators=(",", ":"), allow_nan=False)
        except TypeError:
            # Values cattrs does not know (dataclasses, UUIDs) keep the SDK's rules.
            return self._fallback.to_payload(value)
        return Payload(metadata={"encoding": _ENCODING.encode()}, data=data.encode())

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        """See base class.

        Raises:
            ApplicationError: The JSON does not fit ``type_hint`` (a fraction
                where a whole number belongs, a missing required field). Of
                type ``INVALID_PAYLOAD`` and non-retryable: the same payload
                never decodes, so a workflow given it fails at once instead
                of retrying its task forever.
        """
        plain = json.loads(payload.data)
        if type_hint is None or type_hint is Any:
            return plain
        try:
            return self._converter.structure(plain, type_hint)
        except cattrs.BaseValidationError as error:
            problems = "; ".join(
                cattrs.transform_error(error, path="$", format_exception=_problem)
            )
            name = getattr(type_hint, "__name__", str(type_hint))
            raise ApplicationError(
                f"cannot read the {name} payload: {problems}; send the types "
                "the model declares",
                type=INVALID_PAYLOAD,
                non_retryable=True,
            ) from None


class ButtonAnalyticsPayloadConverter(CompositePayloadConverter):
    """The SDK's default payload converters with JSON handled by cattrs."""

    def __init__(self) -> None:
        converters = [
            AttrsJSONPayloadConverter()
            if converter.encoding == _ENCODING
            else converter
            for converter in DefaultPayloadConverter.default_encoding_payload_converters
        ]
        super().__init__(*converters)


data_converter = DataConverter(payload_converter_class=ButtonAnalyticsPayloadConverter)
"""A ready data converter: pass it to ``Client.connect(data_converter=...)``."""


def install_converter(existing: DataConverter | None) -> DataConverter:
    """Return ``existing`` with our payload converter, keeping its codec.

    The host's payload codec (encryption, compression) and failure converter are
    kept. A host that chose another payload converter is refused rather than
    silently overridden.

    Raises:
        TypeError: ``existing`` uses a payload converter other than the SDK's
            default or ours.
    """
    if existing is None:
        return data_converter
    current = existing.payload_converter_class
    if issubclass(current, ButtonAnalyticsPayloadConverter):
        return existing
    if current is not DefaultPayloadConverter:
        raise TypeError(
            f"the client already uses the payload converter {current.__qualname__}, "
            "which cannot encode ga4_button_workflows' attrs models; use "
            "ga4_button_workflows.converter.ButtonAnalyticsPayloadConverter "
            "(or a subclass of it) as payload_converter_class, or connect the "
            "client without the plugin's converter"
        )
    return dataclasses.replace(
        existing, payload_converter_class=ButtonAnalyticsPayloadConverter
    )
