"""Data sources: where button events come from."""

from ga4_button_workflows.sources.sample import SampleDataSource

__all__ = ["SampleDataSource"]
