"""SlackNotifier against a real local HTTP server."""

from __future__ import annotations

import datetime
import json
import logging
import time
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from temporalio.exceptions import ApplicationError
from werkzeug import Request, Response

from ga4_button_workflows.models import ButtonInsights
from ga4_button_workflows.notifiers import SlackNotifier
from ga4_button_workflows.notifiers.slack import build_slack_message, escape_slack
from ga4_button_workflows.ports import Notifier

SECRET_PATH = "/services/T0001/B0002/s3cr3tT0k3n"


@pytest.fixture
def webhook_url(httpserver: HTTPServer) -> str:
    return httpserver.url_for(SECRET_PATH)


def posted_json(httpserver: HTTPServer) -> dict[str, Any]:
    (request, _response), *_ = httpserver.log
    body: dict[str, Any] = json.loads(request.get_data())
    return body


def every_text(message: dict[str, Any]) -> list[str]:
    """Every text Slack would render from the message."""
    texts = [message["text"]]
    for block in message["blocks"]:
        elements = [
            block.get("text"),
            *block.get("fields", []),
            *block.get("elements", []),
        ]
        texts.extend(element["text"] for element in elements if element)
    return texts


class TestMessage:
    async def test_a_hostile_button_name_arrives_escaped_and_cannot_ping_or_link(
        self,
        httpserver: HTTPServer,
        webhook_url: str,
        insights: ButtonInsights,
    ) -> None:
        httpserver.expect_oneshot_request(SECRET_PATH, method="POST").respond_with_data(
            "ok"
        )

        await SlackNotifier(webhook_url).send(insights, analysis_id="analysis-1")

        raw = httpserver.log[0][0].get_data(as_text=True)
        texts = every_text(posted_json(httpserver))
        assert "&lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt;" in raw
        assert "<!channel>" not in raw
        assert "<script>" not in raw
        assert all("<" not in text and ">" not in text for text in texts)
        httpserver.check_assertions()

    async def test_the_message_shows_the_findings_with_their_numbers(
        self, httpserver: HTTPServer, webhook_url: str, insights: ButtonInsights
    ) -> None:
        httpserver.expect_oneshot_request(SECRET_PATH).respond_with_data("ok")

        await SlackNotifier(webhook_url).send(insights, analysis_id="analysis-1")

        message = posted_json(httpserver)
        text = "\n".join(every_text(message))
        assert message["blocks"][0]["type"] == "header"
        assert "property 123456789" in message["blocks"][0]["text"]["text"]
        assert "2024-05-01..2024-05-07" in text
        assert "CTR 7.0% (95% CI 5.7%–8.6%)" in text
        assert "84 of 1,200 users" in text
        assert "83% chance of the highest CTR" in text
        assert "relative lift 0.4" in text
        assert "thresholding" in text
        assert message["unfurl_links"] is False
        request = httpserver.log[0][0]
        assert request.headers["Content-Type"].startswith("application/json")

    def test_blocks_stay_within_slack_limits_for_very_long_names(
        self, insights: ButtonInsights, evolve: Any
    ) -> None:
        long_name = "<&>" * 2000
        document = evolve(
            insights,
            best_performing_button=long_name,
            recommendations=(long_name,) * 20,
            recommendation_details=(),
            caveats=(long_name,) * 20,
            selection_note=long_name,
        )

        message = build_slack_message(document, analysis_id=long_name)

        header = message["blocks"][0]["text"]["text"]
        assert len(header) <= 150
        for text in every_text(message):
            assert len(text) <= 3000
            assert "<" not in text
            # Cutting never splits an entity into a dangling "&l".
            assert not text.rstrip("…").endswith(("&", "&l", "&lt", "&a", "&am"))

    @given(st.text())
    def test_escaping_leaves_no_angle_brackets_and_is_reversible(
        self, text: str
    ) -> None:
        escaped = escape_slack(text)

        assert "<" not in escaped
        assert ">" not in escaped
        unescaped = (
            escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        )
        assert unescaped == text


class TestErrors:
    async def test_a_400_answer_is_not_retried_and_hides_the_url(
        self, httpserver: HTTPServer, webhook_url: str, insights: ButtonInsights
    ) -> None:
        httpserver.expect_oneshot_request(SECRET_PATH).respond_with_data(
            "invalid_payload", status=400
        )

        with pytest.raises(ApplicationError) as caught:
            await SlackNotifier(webhook_url).send(insights, analysis_id="analysis-1")

        assert caught.value.non_retryable is True
        assert "HTTP 400: invalid_payload" in str(caught.value)
        assert "s3cr3tT0k3n" not in str(caught.value)

    async def test_a_429_answer_is_retried_after_the_retry_after_delay(
        self, httpserver: HTTPServer, webhook_url: str, insights: ButtonInsights
    ) -> None:
        httpserver.expect_oneshot_request(SECRET_PATH).respond_with_data(
            "rate_limited", status=429, headers={"Retry-After": "7"}
        )

        with pytest.raises(ApplicationError) as caught:
            await SlackNotifier(webhook_url).send(insights, analysis_id="analysis-1")

        assert caught.value.non_retryable is False
        assert caught.value.next_retry_delay == datetime.timedelta(seconds=7)

    async def test_a_retry_after_date_becomes_the_delay_until_then(
        self, httpserver: HTTPServer, webhook_url: str, insights: ButtonInsights
    ) -> None:
        then = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=120
        )
        httpserver.expect_oneshot_request(SECRET_PATH).respond_with_data(
            "busy",
            status=503,
            headers={"Retry-After": format_datetime(then, usegmt=True)},
        )

        with pytest.raises(ApplicationError) as caught:
            await SlackNotifier(webhook_url).send(insights, analysis_id="analysis-1")

        delay = caught.value.next_retry_delay
        assert delay is not None
        assert (
            datetime.timedelta(seconds=100) < delay <= datetime.timedelta(seconds=120)
        )

    async def test_a_503_answer_is_retried(
        self, httpserver: HTTPServer, webhook_url: str, insights: ButtonInsights
    ) -> None:
        httpserver.expect_oneshot_request(SECRET_PATH).respond_with_data(
            "down", status=503
        )

        with pytest.raises(ApplicationError) as caught:
            await SlackNotifier(webhook_url).send(insights, analysis_id="analysis-1")

        assert caught.value.non_retryable is False
        assert "HTTP 503" in str(caught.value)

    async def test_an_unreachable_endpoint_is_retried(
        self, closed_port: int, insights: ButtonInsights
    ) -> None:
        url = f"http://127.0.0.1:{closed_port}{SECRET_PATH}"

        with pytest.raises(ApplicationError) as caught:
            await SlackNotifier(url).send(insights, analysis_id="analysis-1")

        assert caught.value.non_retryable is False
        assert "s3cr3tT0k3n" not in str(caught.value)

    async def test_a_slow_endpoint_times_out_and_is_retried(
        self, httpserver: HTTPServer, webhook_url: str, insights: ButtonInsights
    ) -> None:
        def slow(_request: Request) -> Response:
            time.sleep(0.5)
            return Response("ok")

        httpserver.expect_oneshot_request(SECRET_PATH).respond_with_handler(slow)

        with pytest.raises(ApplicationError, match="did not answer") as caught:
            await SlackNotifier(webhook_url, timeout_s=0.1).send(
                insights, analysis_id="analysis-1"
            )

        assert caught.value.non_retryable is False

    def test_a_url_that_is_not_http_is_refused_without_echoing_it(self) -> None:
        with pytest.raises(ValueError, match="https://") as caught:
            SlackNotifier("ftp://hooks.example/services/s3cr3tT0k3n")

        assert "s3cr3tT0k3n" not in str(caught.value)


class TestSecrecy:
    async def test_nothing_logs_or_shows_the_webhook_url(
        self,
        httpserver: HTTPServer,
        webhook_url: str,
        insights: ButtonInsights,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        httpserver.expect_oneshot_request(SECRET_PATH).respond_with_data("ok")
        httpserver.expect_oneshot_request(SECRET_PATH).respond_with_data(
            "no", status=403
        )
        notifier = SlackNotifier(webhook_url, channel="slack:#growth")

        await notifier.send(insights, analysis_id="analysis-1")
        with pytest.raises(ApplicationError):
            await notifier.send(insights, analysis_id="analysis-2")

        # The test server's own access log is the receiving side; skip it.
        client_side = "\n".join(
            record.getMessage()
            for record in caplog.records
            if not record.name.startswith("werkzeug")
        )
        assert "HTTP Request: POST [redacted webhook URL]" in client_side
        assert "Posted analysis analysis-1 to slack:#growth" in client_side
        assert "s3cr3tT0k3n" not in client_side
        assert "s3cr3tT0k3n" not in repr(notifier)

    def test_the_notifier_satisfies_the_protocol(self, webhook_url: str) -> None:
        notifier = SlackNotifier(webhook_url)

        assert isinstance(notifier, Notifier)
        assert notifier.channel == "slack"
