"""deliver_alerts: change alerts reach each notifier once, through a real store."""

from __future__ import annotations

import datetime
import io
import json
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pytest_httpserver import HTTPServer
from temporalio.exceptions import ApplicationError
from werkzeug import Request, Response

from ga4_button_workflows.alerts import (
    ALERT_DELIVERY_FAILED,
    AlertNotifier,
    alert_delivery_channel,
    deliver_alerts,
)
from ga4_button_workflows.models import (
    ButtonCounts,
    ButtonInsights,
    Period,
    SentAlert,
)
from ga4_button_workflows.notifiers import (
    CompositeNotifier,
    ConsoleNotifier,
    EmailNotifier,
    SlackNotifier,
    WebhookNotifier,
    verify_signature,
)
from ga4_button_workflows.stores import JSONFileInsightStore, MemoryInsightStore
from ga4_button_workflows.stores.sql import SQLInsightStore
from ga4_button_workflows.trends import (
    ChangeAlert,
    ChangeFinding,
    TrendConfig,
    period_over_period,
)

PROPERTY_ID = "123456789"
CURRENT = Period(datetime.date(2024, 5, 22), datetime.date(2024, 5, 28))
PREVIOUS = Period(datetime.date(2024, 5, 15), datetime.date(2024, 5, 21))
HOSTILE_BUTTON = "<!channel> <script>alert(1)</script>"
BUTTONS = ("cta", "nav_home", "nav_pricing", "feature_card", "signup")
VARIANTS = ("original", "colors")


def findings_with_drop(
    factor: float = 0.7,
    *,
    button: str = "cta",
    variant: str = "colors",
    config: TrendConfig | None = None,
    weeks_later: int = 0,
) -> tuple[ChangeFinding, ...]:
    """Ten series at 6% over 7,000 users a week; one of them drops by ``factor``.

    The periods compared are those of the 28th of May, ``weeks_later`` weeks on.
    """
    later = datetime.timedelta(weeks=weeks_later)
    previous, current = [], []
    names = [(b, v) for b in (*BUTTONS[1:], button) for v in VARIANTS]
    for name, page in names:
        previous.append(
            ButtonCounts(
                button=name, variant=page, exposed_users=7000, clicking_users=420
            )
        )
        clicks = round(420 * factor) if (name, page) == (button, variant) else 420
        current.append(
            ButtonCounts(
                button=name, variant=page, exposed_users=7000, clicking_users=clicks
            )
        )
    return period_over_period(
        current,
        previous,
        current_period=Period(CURRENT.start + later, CURRENT.end + later),
        previous_period=Period(PREVIOUS.start + later, PREVIOUS.end + later),
        config=config,
    )


def relative_changes(alerts: dict[str, SentAlert]) -> dict[str, float]:
    return {key: sent.relative_change for key, sent in alerts.items()}


class Recorder:
    """An alert-capable notifier that remembers what it got and fails as told."""

    def __init__(self, channel: str, failures: list[Exception] | None = None) -> None:
        self.channel = channel
        self.alerts: list[ChangeAlert] = []
        self._failures = list(failures or [])

    async def send(self, insights: ButtonInsights, *, analysis_id: str) -> None:
        raise AssertionError("alerts never send the insights document")

    async def send_alert(self, alert: ChangeAlert) -> None:
        if self._failures:
            raise self._failures.pop(0)
        self.alerts.append(alert)


class InsightsOnly:
    """A notifier from before alerts: it has no send_alert."""

    channel = "legacy"

    async def send(self, insights: ButtonInsights, *, analysis_id: str) -> None:
        raise AssertionError("alerts never send the insights document")


async def deliver(
    findings: tuple[ChangeFinding, ...],
    store: Any,
    notifiers: list[Any],
    analysis_id: str = "analysis-1",
    **options: Any,
) -> list[str]:
    return await deliver_alerts(
        findings,
        property_id=PROPERTY_ID,
        analysis_id=analysis_id,
        store=store,
        notifiers=notifiers,
        **options,
    )


class TestOncePerFinding:
    async def test_a_planted_drop_is_alerted_once_and_a_second_run_sends_nothing(
        self,
    ) -> None:
        store = MemoryInsightStore()
        recorder = Recorder("ops")

        first = await deliver(findings_with_drop(), store, [recorder], "analysis-1")
        second = await deliver(findings_with_drop(), store, [recorder], "analysis-2")

        assert first == ["cta|colors|drop"]
        assert second == []
        (alert,) = recorder.alerts
        assert alert.analysis_id == "analysis-1"
        assert alert.finding.button == "cta"
        assert "6.0% -> 4.2% (-30%" in alert.text
        (recorded,) = (await store.sent_alerts(PROPERTY_ID)).items()
        assert recorded == (
            "cta|colors|drop",
            SentAlert.of(alert.finding, "analysis-1"),
        )
        assert recorded[1].relative_change == pytest.approx(-0.3)
        assert recorded[1].span == Period(PREVIOUS.start, CURRENT.end)

    async def test_a_worsened_drop_is_alerted_again_on_a_later_run(self) -> None:
        store = MemoryInsightStore()
        recorder = Recorder("ops")

        await deliver(findings_with_drop(0.7), store, [recorder], "analysis-1")
        again = await deliver(findings_with_drop(0.6), store, [recorder], "analysis-2")

        assert again == ["cta|colors|drop"]
        assert [a.analysis_id for a in recorder.alerts] == ["analysis-1", "analysis-2"]
        assert relative_changes(await store.sent_alerts(PROPERTY_ID)) == {
            "cta|colors|drop": pytest.approx(-0.4)
        }

    async def test_a_rerun_of_one_analysis_over_restated_data_sends_the_growth(
        self,
    ) -> None:
        """The same analysis ID (a re-triggered period) with a deeper drop."""
        store = MemoryInsightStore()
        recorder = Recorder("ops")

        first = await deliver(findings_with_drop(0.7), store, [recorder])
        restated = await deliver(findings_with_drop(0.6), store, [recorder])
        repeated = await deliver(findings_with_drop(0.6), store, [recorder])

        assert first == restated == ["cta|colors|drop"]
        assert repeated == []
        sizes = [alert.finding.relative_change for alert in recorder.alerts]
        assert sizes == [pytest.approx(-0.3), pytest.approx(-0.4)]

    async def test_a_drop_that_recovered_and_came_back_is_alerted_again(
        self,
    ) -> None:
        store = MemoryInsightStore()
        recorder = Recorder("ops")

        first = await deliver(findings_with_drop(0.7), store, [recorder], "week-1")
        # A week later the rate rises: a rise alerts under its own key.
        recovered = findings_with_drop(1 / 0.7, weeks_later=1)
        rise = await deliver(recovered, store, [recorder], "week-2")
        # Two weeks after that it drops again, by no more than the first time.
        again = await deliver(
            findings_with_drop(0.7, weeks_later=3), store, [recorder], "week-4"
        )

        assert first == again == ["cta|colors|drop"]
        assert rise == ["cta|colors|rise"]
        assert [a.analysis_id for a in recorder.alerts] == [
            "week-1",
            "week-2",
            "week-4",
        ]
        assert (await store.sent_alerts(PROPERTY_ID))["cta|colors|drop"].span == Period(
            PREVIOUS.start + datetime.timedelta(weeks=3),
            CURRENT.end + datetime.timedelta(weeks=3),
        )

    async def test_the_same_drop_in_an_overlapping_comparison_stays_quiet(
        self,
    ) -> None:
        """A weekly comparison made daily: the windows still hold the drop."""
        store = MemoryInsightStore()
        recorder = Recorder("ops")
        await deliver(findings_with_drop(0.7), store, [recorder], "day-1")

        for days in range(1, 7):
            shift = datetime.timedelta(days=days)
            findings = period_over_period(
                [
                    ButtonCounts(
                        button="cta",
                        variant="colors",
                        exposed_users=7000,
                        clicking_users=294,
                    )
                ],
                [
                    ButtonCounts(
                        button="cta",
                        variant="colors",
                        exposed_users=7000,
                        clicking_users=420,
                    )
                ],
                current_period=Period(CURRENT.start + shift, CURRENT.end + shift),
                previous_period=Period(PREVIOUS.start + shift, PREVIOUS.end + shift),
            )
            assert findings[0].alert
            assert await deliver(findings, store, [recorder], f"day-{days + 1}") == []

        assert len(recorder.alerts) == 1

    async def test_nothing_changed_means_no_alert_and_no_store_write(self) -> None:
        store = MemoryInsightStore()
        recorder = Recorder("ops")

        sent = await deliver(findings_with_drop(1.0), store, [recorder])

        assert sent == []
        assert recorder.alerts == []
        assert await store.sent_alerts(PROPERTY_ID) == {}

    async def test_findings_below_the_alert_size_stay_quiet(self) -> None:
        store = MemoryInsightStore()
        recorder = Recorder("ops")

        findings = findings_with_drop(0.7, config=TrendConfig(min_relative_change=0.5))

        sent = await deliver(findings, store, [recorder])

        assert sent == []
        assert recorder.alerts == []

    async def test_notifiers_without_send_alert_are_skipped_and_nothing_is_recorded(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        store = MemoryInsightStore()

        sent = await deliver(findings_with_drop(), store, [InsightsOnly()])

        assert sent == []
        assert await store.sent_alerts(PROPERTY_ID) == {}
        assert "no notifier can send alerts" in caplog.text

    async def test_the_analysis_link_reaches_the_notifier(self) -> None:
        recorder = Recorder("ops")

        await deliver(
            findings_with_drop(),
            MemoryInsightStore(),
            [recorder],
            analysis_url="https://dash.example/analyses/analysis-1",
        )

        (alert,) = recorder.alerts
        assert alert.analysis_url == "https://dash.example/analyses/analysis-1"
        assert alert.text.endswith(": https://dash.example/analyses/analysis-1")

    async def test_the_sql_store_keeps_the_state_across_store_instances(
        self, tmp_path: Path
    ) -> None:
        url = f"sqlite:///{tmp_path / 'insights.db'}"
        recorder = Recorder("ops")
        async with SQLInsightStore(url) as store:
            await deliver(findings_with_drop(), store, [recorder], "analysis-1")
        async with SQLInsightStore(url) as reopened:
            again = await deliver(findings_with_drop(), reopened, [recorder], "a-2")

        assert again == []
        assert len(recorder.alerts) == 1


class TestFailures:
    async def test_a_failed_notifier_gets_the_alert_on_retry_the_others_do_not(
        self,
    ) -> None:
        store = MemoryInsightStore()
        steady = Recorder("steady")
        flaky = Recorder("flaky", [ApplicationError("HTTP 503")])

        with pytest.raises(ApplicationError) as caught:
            await deliver(findings_with_drop(), store, [steady, flaky])
        assert await store.sent_alerts(PROPERTY_ID) == {}
        retried = await deliver(findings_with_drop(), store, [steady, flaky])

        assert caught.value.type == ALERT_DELIVERY_FAILED
        assert not caught.value.non_retryable
        assert "flaky (cta on colors)" in str(caught.value)
        assert retried == ["cta|colors|drop"]
        assert len(steady.alerts) == 1
        assert len(flaky.alerts) == 1
        assert await store.has_delivery(
            "analysis-1", alert_delivery_channel(steady.alerts[0], "steady")
        )

    async def test_only_permanent_failures_make_the_error_non_retryable(
        self,
    ) -> None:
        broken = Recorder("broken", [ApplicationError("HTTP 400", non_retryable=True)])

        with pytest.raises(ApplicationError) as caught:
            await deliver(findings_with_drop(), MemoryInsightStore(), [broken])

        assert caught.value.non_retryable


# --- Through the real notifiers -------------------------------------------------------


class TestSlack:
    async def test_the_alert_is_posted_once_escaped_and_a_second_run_posts_nothing(
        self, httpserver: HTTPServer, tmp_path: Path
    ) -> None:
        posted: list[dict[str, Any]] = []

        def record(request: Request) -> Response:
            posted.append(json.loads(request.get_data()))
            return Response("ok")

        httpserver.expect_request("/slack", method="POST").respond_with_handler(record)
        store = JSONFileInsightStore(tmp_path / "button_insights.json")
        slack = SlackNotifier(httpserver.url_for("/slack"), channel="slack:#growth")
        findings = findings_with_drop(button=HOSTILE_BUTTON)

        first = await deliver(
            findings,
            store,
            [slack],
            "analysis-1",
            analysis_url="https://dash.example/a/1",
        )
        second = await deliver(findings, store, [slack], "analysis-2")

        assert len(first) == 1
        assert second == []
        (message,) = posted
        section = message["blocks"][0]["text"]
        assert section["verbatim"] is True
        assert "&lt;!channel&gt; &lt;script&gt;" in section["text"]
        assert "<!channel>" not in json.dumps(message)
        assert "Click-through rate drop" in message["text"]
        assert message["blocks"][1]["elements"][0]["url"] == "https://dash.example/a/1"


class TestWebhook:
    async def test_the_alert_is_posted_as_signed_json_with_its_own_idempotency_key(
        self, httpserver: HTTPServer
    ) -> None:
        received: list[Request] = []

        def record(request: Request) -> Response:
            received.append(request)
            return Response("", status=204)

        httpserver.expect_request("/hook", method="POST").respond_with_handler(record)
        webhook = WebhookNotifier(httpserver.url_for("/hook"), secret="s3cret")

        await deliver(findings_with_drop(), MemoryInsightStore(), [webhook])

        (request,) = received
        body = request.get_data()
        assert verify_signature(
            body, request.headers["X-GA4-Buttons-Signature"], "s3cret"
        )
        assert request.headers["Idempotency-Key"] == "analysis-1:cta|colors|drop"
        document = json.loads(body)
        assert document["kind"] == "change_alert"
        assert document["key"] == "cta|colors|drop"
        assert document["property_id"] == PROPERTY_ID
        assert document["finding"]["direction"] == "drop"
        assert document["finding"]["relative_change"] == pytest.approx(-0.3)
        assert document["finding"]["current_period"] == {
            "start": "2024-05-22",
            "end": "2024-05-28",
        }


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.messages.append(
            message_from_bytes(envelope.original_content or b"", policy=policy.default)
        )
        return "250 Message accepted"


@pytest.fixture
def mailbox() -> Iterator[tuple[int, _Mailbox]]:
    """A local SMTP server (no TLS, no login) and what it received."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = _Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


class TestEmail:
    async def test_the_alert_is_mailed_as_plain_text_with_a_safe_subject(
        self, mailbox: tuple[int, _Mailbox]
    ) -> None:
        port, handler = mailbox
        email = EmailNotifier(
            host="127.0.0.1",
            port=port,
            sender="ga4@example.com",
            recipients=["team@example.com"],
        )

        await deliver(
            findings_with_drop(button=HOSTILE_BUTTON), MemoryInsightStore(), [email]
        )

        (message,) = handler.messages
        assert message["Subject"] == (
            "GA4 button analysis: CTR drop alert, property 123456789"
        )
        assert HOSTILE_BUTTON in message.get_content()
        assert "Analysis analysis-1" in message.get_content()


class TestConsoleAndComposite:
    async def test_the_console_writes_the_alert_text(self) -> None:
        stream = io.StringIO()

        await deliver(
            findings_with_drop(), MemoryInsightStore(), [ConsoleNotifier(stream)]
        )

        assert stream.getvalue().startswith(
            "📉 Click-through rate drop: cta on colors (property 123456789)"
        )

    async def test_a_composite_retry_resends_only_to_the_child_that_failed(
        self,
    ) -> None:
        steady = Recorder("steady")
        flaky = Recorder("flaky", [ApplicationError("HTTP 503")])
        composite = CompositeNotifier([steady, flaky, InsightsOnly()])
        store = MemoryInsightStore()

        with pytest.raises(ApplicationError):
            await deliver(findings_with_drop(), store, [composite])
        sent = await deliver(findings_with_drop(), store, [composite])

        assert sent == ["cta|colors|drop"]
        assert len(steady.alerts) == 1
        assert len(flaky.alerts) == 1

    def test_every_library_notifier_can_send_alerts(self, tmp_path: Path) -> None:
        notifiers = [
            ConsoleNotifier(),
            SlackNotifier("https://hooks.example/x"),
            WebhookNotifier("https://hooks.example/y", secret="k"),
            EmailNotifier(host="localhost", sender="a@example.com", recipients="b@x"),
            CompositeNotifier([ConsoleNotifier()]),
        ]

        assert all(isinstance(notifier, AlertNotifier) for notifier in notifiers)
        assert not isinstance(InsightsOnly(), AlertNotifier)
