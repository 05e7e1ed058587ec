"""Test support for hosts: a GA4 Data API emulator and other doubles.

Names load on first use, so importing this package does not import grpc.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ga4_button_workflows.testing._emulator_model import (
        EmulatedEvent,
        Fault,
        QuotaLimits,
        ReportTable,
        RequestRecord,
    )
    from ga4_button_workflows.testing.doubles import (
        CallbackDataSource,
        RecordingNotifier,
        StaticDataSource,
    )
    from ga4_button_workflows.testing.ga4_emulator import GA4Emulator
    from ga4_button_workflows.testing.traffic import (
        TrafficEvent,
        generate_landing_page_traffic,
    )

__all__ = [
    "CallbackDataSource",
    "EmulatedEvent",
    "Fault",
    "GA4Emulator",
    "QuotaLimits",
    "RecordingNotifier",
    "ReportTable",
    "RequestRecord",
    "StaticDataSource",
    "TrafficEvent",
    "generate_landing_page_traffic",
]

_LAZY_EXPORTS = {
    "EmulatedEvent": "ga4_button_workflows.testing._emulator_model",
    "Fault": "ga4_button_workflows.testing._emulator_model",
    "GA4Emulator": "ga4_button_workflows.testing.ga4_emulator",
    "QuotaLimits": "ga4_button_workflows.testing._emulator_model",
    "ReportTable": "ga4_button_workflows.testing._emulator_model",
    "RequestRecord": "ga4_button_workflows.testing._emulator_model",
    "CallbackDataSource": "ga4_button_workflows.testing.doubles",
    "RecordingNotifier": "ga4_button_workflows.testing.doubles",
    "StaticDataSource": "ga4_button_workflows.testing.doubles",
    "TrafficEvent": "ga4_button_workflows.testing.traffic",
    "generate_landing_page_traffic": "ga4_button_workflows.testing.traffic",
}


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
