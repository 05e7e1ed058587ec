"""CompositeNotifier: several notifiers as one, each reached at most once."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from temporalio.exceptions import ApplicationError

from ga4_button_workflows.models import ButtonInsights
from ga4_button_workflows.notifiers import (
    CompositeNotifier,
    SlackNotifier,
    WebhookNotifier,
)
from ga4_button_workflows.ports import Notifier
from ga4_button_workflows.stores import JSONFileInsightStore


class Recorder:
    """A notifier that remembers its sends and fails as told."""

    def __init__(self, channel: str, failures: list[Exception] | None = None) -> None:
        self.channel = channel
        self.sent: list[str] = []
        self._failures = list(failures or [])

    async def send(self, insights: ButtonInsights, *, analysis_id: str) -> None:
        if self._failures:
            raise self._failures.pop(0)
        self.sent.append(analysis_id)


def retryable(delay_s: int | None = None) -> ApplicationError:
    delay = datetime.timedelta(seconds=delay_s) if delay_s else None
    return ApplicationError("HTTP 503", next_retry_delay=delay)


def permanent() -> ApplicationError:
    return ApplicationError("HTTP 400", non_retryable=True)


class TestRetries:
    async def test_a_retry_after_a_partial_failure_resends_only_the_failed_child(
        self, httpserver: HTTPServer, insights: ButtonInsights
    ) -> None:
        httpserver.expect_oneshot_request("/slack").respond_with_data("ok")
        httpserver.expect_oneshot_request("/hook").respond_with_data("", status=503)
        httpserver.expect_oneshot_request("/hook").respond_with_data("", status=204)
        composite = CompositeNotifier(
            [
                SlackNotifier(httpserver.url_for("/slack")),
                WebhookNotifier(httpserver.url_for("/hook"), secret="k"),
            ]
        )

        with pytest.raises(ApplicationError) as caught:
            await composite.send(insights, analysis_id="analysis-1")
        await composite.send(insights, analysis_id="analysis-1")

        assert caught.value.non_retryable is False
        assert "webhook: the endpoint failed (HTTP 503)" in str(caught.value)
        paths = [request.path for request, _ in httpserver.log]
        assert paths == ["/slack", "/hook", "/hook"]

    async def test_deliveries_in_a_store_are_skipped_by_another_worker_too(
        self, tmp_path: Path, insights: ButtonInsights
    ) -> None:
        store = JSONFileInsightStore(tmp_path / "insights.json")
        slack, email = Recorder("slack"), Recorder("email", [retryable()])
        first_worker = CompositeNotifier([slack, email], store=store)
        second_worker = CompositeNotifier([slack, email], store=store)

        with pytest.raises(ApplicationError):
            await first_worker.send(insights, analysis_id="analysis-1")
        await second_worker.send(insights, analysis_id="analysis-1")
        await second_worker.send(insights, analysis_id="analysis-1")

        assert slack.sent == ["analysis-1"]
        assert email.sent == ["analysis-1"]
        assert await store.has_delivery("analysis-1", "slack")
        assert await store.has_delivery("analysis-1", "email")

    async def test_another_analysis_is_sent_again(
        self, insights: ButtonInsights
    ) -> None:
        slack = Recorder("slack")
        composite = CompositeNotifier([slack])

        await composite.send(insights, analysis_id="analysis-1")
        await composite.send(insights, analysis_id="analysis-2")

        assert slack.sent == ["analysis-1", "analysis-2"]


class TestErrors:
    async def test_the_error_is_permanent_only_when_every_failure_is(
        self, insights: ButtonInsights
    ) -> None:
        both_permanent = CompositeNotifier(
            [Recorder("a", [permanent()]), Recorder("b", [permanent()])]
        )
        one_transient = CompositeNotifier(
            [Recorder("a", [permanent()]), Recorder("b", [RuntimeError("boom")])]
        )

        with pytest.raises(ApplicationError) as first:
            await both_permanent.send(insights, analysis_id="analysis-1")
        with pytest.raises(ApplicationError) as second:
            await one_transient.send(insights, analysis_id="analysis-1")

        assert first.value.non_retryable is True
        assert second.value.non_retryable is False
        assert "2 of the composite's notifiers failed" in str(second.value)

    async def test_the_longest_retry_delay_asked_for_wins(
        self, insights: ButtonInsights
    ) -> None:
        composite = CompositeNotifier(
            [Recorder("a", [retryable(5)]), Recorder("b", [retryable(30)])]
        )

        with pytest.raises(ApplicationError) as caught:
            await composite.send(insights, analysis_id="analysis-1")

        assert caught.value.next_retry_delay == datetime.timedelta(seconds=30)


class TestConfiguration:
    def test_the_channel_names_the_children_unless_given(self) -> None:
        children = [Recorder("slack"), Recorder("email")]

        assert CompositeNotifier(children).channel == "composite(slack,email)"
        assert CompositeNotifier(children, channel="team").channel == "team"
        assert isinstance(CompositeNotifier(children), Notifier)

    def test_children_must_have_distinct_channels(self) -> None:
        with pytest.raises(ValueError, match="slack appears more than once"):
            CompositeNotifier([Recorder("slack"), Recorder("slack")])
        with pytest.raises(ValueError, match="at least one"):
            CompositeNotifier([])
