"""attrs validators shared by the models and configuration classes.

Messages name the field, the value and, for counts, the button and variant
they belong to. The errors are :class:`FieldTypeError` and
:class:`FieldValueError`, plain ``TypeError`` and ``ValueError`` subclasses, so
the fetch activity can tell a data source that built an invalid report (a bug
that no retry mends) from a transient fault.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from typing import Any

import attrs

__all__ = [
    "MAX_COUNT",
    "FieldTypeError",
    "FieldValueError",
    "count",
    "day",
    "finite",
    "flag",
    "ga4_count",
    "instance_of",
    "items_of",
    "non_negative_finite",
    "open_unit",
    "optional_ga4_count",
    "positive",
    "positive_finite",
    "share",
    "text",
]

MAX_COUNT = 2**63 - 1
"""The largest count GA4 reports: its counts are signed 64-bit integers."""


class FieldTypeError(TypeError):
    """A model or setting was given a value of the wrong kind."""


class FieldValueError(ValueError):
    """A model or setting was given a value it cannot hold."""


def _where(instance: object) -> str:
    """`` (in <Class> of <button> on <variant>[, <date>])`` for counts, else ``""``."""
    button = getattr(instance, "button", None)
    variant = getattr(instance, "variant", None)
    if button is None and variant is None:
        return ""
    place = f"{button!r} on {variant!r}" if button is not None else repr(variant)
    date = getattr(instance, "date", None)
    if isinstance(date, datetime.date):
        place += f", {date.isoformat()}"
    return f" (in {type(instance).__name__} of {place})"


def _whole(instance: object, attribute: attrs.Attribute[int], value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldTypeError(
            f"{attribute.name} must be a whole number, got "
            f"{type(value).__name__} {value!r}{_where(instance)}"
        )
    return value


def _number(
    instance: object, attribute: attrs.Attribute[float], value: object
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldTypeError(
            f"{attribute.name} must be a number, got {type(value).__name__} "
            f"{value!r}{_where(instance)}"
        )
    try:
        return float(value)
    except OverflowError:  # a whole number past the float range
        return math.inf if value > 0 else -math.inf


def count(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if _whole(instance, attribute, value) < 0:
        raise FieldValueError(
            f"{attribute.name} must not be negative, got {value!r}{_where(instance)}"
        )


def ga4_count(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not 0 <= _whole(instance, attribute, value) <= MAX_COUNT:
        raise FieldValueError(
            f"{attribute.name} must be a count from 0 to 2**63 - 1, got "
            f"{value!r}{_where(instance)}"
        )


optional_ga4_count = attrs.validators.optional(ga4_count)


def finite(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(_number(instance, attribute, value)):
        raise FieldValueError(
            f"{attribute.name} must be a finite number, got {value!r}{_where(instance)}"
        )


def non_negative_finite(
    instance: object, attribute: attrs.Attribute[float], value: float
) -> None:
    number = _number(instance, attribute, value)
    if not (math.isfinite(number) and number >= 0.0):
        raise FieldValueError(
            f"{attribute.name} must be a finite, non-negative number, got "
            f"{value!r}{_where(instance)}"
        )


def open_unit(
    instance: object, attribute: attrs.Attribute[float], value: float
) -> None:
    if not 0.0 < _number(instance, attribute, value) < 1.0:
        raise FieldValueError(
            f"{attribute.name} must be strictly between 0 and 1, got {value!r}"
        )


def positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if _whole(instance, attribute, value) < 1:
        raise FieldValueError(f"{attribute.name} must be at least 1, got {value!r}")


def positive_finite(
    instance: object, attribute: attrs.Attribute[float], value: float
) -> None:
    number = _number(instance, attribute, value)
    if not (math.isfinite(number) and number > 0.0):
        raise FieldValueError(
            f"{attribute.name} must be a finite number above 0, got {value!r}"
        )


def flag(instance: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    if not isinstance(value, bool):
        raise FieldTypeError(
            f"{attribute.name} must be True or False, got "
            f"{type(value).__name__} {value!r}"
        )


def text(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise FieldTypeError(
            f"{attribute.name} must be text (str), got {type(value).__name__} "
            f"{value!r}{_where(instance)}"
        )


def day(
    instance: object, attribute: attrs.Attribute[datetime.date], value: object
) -> None:
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        hint = (
            f"; use datetime.date.fromisoformat({value!r})"
            if isinstance(value, str)
            else "; use its .date()"
            if isinstance(value, datetime.datetime)
            else ""
        )
        raise FieldTypeError(
            f"{attribute.name} must be a calendar day (datetime.date), got "
            f"{type(value).__name__} {value!r}{_where(instance)}{hint}"
        )


def share(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= _number(instance, attribute, value) <= 1.0:
        raise FieldValueError(
            f"{attribute.name} must be a share from 0 to 1, got {value!r}"
        )


def _kind(classes: type | tuple[type, ...]) -> str:
    names = classes if isinstance(classes, tuple) else (classes,)
    return " or ".join(kind.__name__ for kind in names)


def instance_of(
    classes: type | tuple[type, ...],
) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """A validator: the value is one of ``classes``."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, classes):
            raise FieldTypeError(
                f"{attribute.name} must be a {_kind(classes)}, got "
                f"{type(value).__name__} {value!r:.200}"
            )

    return check


def items_of(
    classes: type | tuple[type, ...],
) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """A validator: the value is a tuple or list whose items are ``classes``."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, (tuple, list)):
            raise FieldTypeError(
                f"{attribute.name} must be a tuple of {_kind(classes)}, got "
                f"{type(value).__name__} {value!r:.200}"
            )
        for number, item in enumerate(value):
            if not isinstance(item, classes):
                raise FieldTypeError(
                    f"{attribute.name}[{number}] must be a {_kind(classes)}, got "
                    f"{type(item).__name__} {item!r:.200}"
                )

    return check
