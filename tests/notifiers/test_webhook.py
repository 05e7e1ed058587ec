"""WebhookNotifier against a real local HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from pytest_httpserver import HTTPServer
from temporalio.exceptions import ApplicationError

from ga4_button_workflows.converter import make_cattrs_converter
from ga4_button_workflows.models import ButtonInsights
from ga4_button_workflows.notifiers import WebhookNotifier, verify_signature

SECRET = "shared-hmac-key"
PATH = "/hooks/ga4?token=url-t0k3n"


@pytest.fixture
def url(httpserver: HTTPServer) -> str:
    return httpserver.url_for(PATH)


def expect_post(httpserver: HTTPServer, status: int = 204) -> None:
    httpserver.expect_oneshot_request(
        "/hooks/ga4", method="POST", query_string="token=url-t0k3n"
    ).respond_with_data("", status=status)


class TestRequest:
    async def test_the_signature_verifies_over_the_raw_body(
        self, httpserver: HTTPServer, url: str, insights: ButtonInsights
    ) -> None:
        expect_post(httpserver)

        await WebhookNotifier(url, secret=SECRET).send(insights, analysis_id="a-1")

        request = httpserver.log[0][0]
        body = request.get_data()
        expected = (
            "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        )
        header = request.headers["X-GA4-Buttons-Signature"]
        assert hmac.compare_digest(expected, header)
        assert verify_signature(body, header, SECRET)
        assert not verify_signature(body + b" ", header, SECRET)
        assert not verify_signature(body, header, "another-key")
        httpserver.check_assertions()

    async def test_the_body_is_the_insights_document_with_an_idempotency_key(
        self,
        httpserver: HTTPServer,
        url: str,
        insights: ButtonInsights,
        hostile_button: str,
    ) -> None:
        expect_post(httpserver)

        await WebhookNotifier(url, secret=SECRET).send(insights, analysis_id="a-1")

        request = httpserver.log[0][0]
        document = json.loads(request.get_data())
        assert request.headers["Idempotency-Key"] == "a-1"
        assert request.headers["Content-Type"].startswith("application/json")
        assert document["buttons"][1]["button"] == hostile_button
        assert make_cattrs_converter().structure(document, ButtonInsights) == insights

    async def test_a_retried_send_carries_the_same_key_and_signature(
        self, httpserver: HTTPServer, url: str, insights: ButtonInsights
    ) -> None:
        expect_post(httpserver)
        expect_post(httpserver)
        notifier = WebhookNotifier(url, secret=SECRET)

        await notifier.send(insights, analysis_id="a-1")
        await notifier.send(insights, analysis_id="a-1")

        first, second = (entry[0] for entry in httpserver.log)
        for name in ("Idempotency-Key", "X-GA4-Buttons-Signature"):
            assert first.headers[name] == second.headers[name]

    async def test_an_analysis_id_outside_printable_ascii_is_percent_encoded(
        self, httpserver: HTTPServer, url: str, insights: ButtonInsights
    ) -> None:
        expect_post(httpserver)

        await WebhookNotifier(url, secret=SECRET).send(
            insights, analysis_id="analyse-café\r\nX-Evil: 1"
        )

        request = httpserver.log[0][0]
        assert (
            request.headers["Idempotency-Key"] == "analyse-caf%C3%A9%0D%0AX-Evil%3A%201"
        )
        assert "X-Evil" not in request.headers

    async def test_extra_headers_are_sent(
        self, httpserver: HTTPServer, url: str, insights: ButtonInsights
    ) -> None:
        expect_post(httpserver)
        notifier = WebhookNotifier(
            url, secret=SECRET, headers={"Authorization": "Bearer abc"}
        )

        await notifier.send(insights, analysis_id="a-1")

        assert httpserver.log[0][0].headers["Authorization"] == "Bearer abc"


class TestErrors:
    @pytest.mark.parametrize(
        ("status", "retryable"), [(400, False), (404, False), (429, True), (500, True)]
    )
    async def test_answers_are_classified_by_status(
        self,
        httpserver: HTTPServer,
        url: str,
        insights: ButtonInsights,
        status: int,
        *,
        retryable: bool,
    ) -> None:
        expect_post(httpserver, status=status)

        with pytest.raises(ApplicationError) as caught:
            await WebhookNotifier(url, secret=SECRET).send(insights, analysis_id="a-1")

        assert caught.value.non_retryable is not retryable
        assert f"HTTP {status}" in str(caught.value)
        assert "url-t0k3n" not in str(caught.value)

    def test_configuration_mistakes_are_refused_up_front(self, url: str) -> None:
        with pytest.raises(ValueError, match="secret is empty"):
            WebhookNotifier(url, secret="")
        with pytest.raises(ValueError, match="set by the notifier itself"):
            WebhookNotifier(url, secret=SECRET, headers={"idempotency-key": "x"})
        with pytest.raises(ValueError, match="absolute"):
            WebhookNotifier("/relative/url-t0k3n", secret=SECRET)

    def test_the_repr_shows_neither_url_nor_secret(self, url: str) -> None:
        text = repr(WebhookNotifier(url, secret=SECRET, channel="webhook:crm"))

        assert text == "WebhookNotifier(channel='webhook:crm')"
