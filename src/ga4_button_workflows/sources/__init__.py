"""Data sources: where button events come from.

:class:`GA4DataSource` and :class:`ReportFileSource` need the ``ga4`` extra
(``pip install 'ga4-button-workflows[ga4]'``); they load on first use, so
importing this package loads no GA4 client library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ga4_button_workflows.sources.sample import SampleDataSource

if TYPE_CHECKING:
    from ga4_button_workflows.sources.ga4 import GA4DataSource
    from ga4_button_workflows.sources.report_file import (
        ReportFileSource,
        write_report_file,
    )

__all__ = ["GA4DataSource", "ReportFileSource", "SampleDataSource", "write_report_file"]

_LAZY = {
    "GA4DataSource": "ga4_button_workflows.sources.ga4",
    "ReportFileSource": "ga4_button_workflows.sources.report_file",
    "write_report_file": "ga4_button_workflows.sources.report_file",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
