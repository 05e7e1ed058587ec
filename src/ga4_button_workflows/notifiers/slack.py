"""A notifier that posts the top findings to a Slack incoming webhook.

GA4 values (button names, variants, anything a visitor's browser sent) are
user-controlled text. Slack reads ``<...>`` as a control sequence: ``<!channel>``
pings everyone, ``<@U123>`` mentions a user and ``<https://x|text>`` hides a
link behind innocent text. So every GA4-derived string has ``&``, ``<`` and
``>`` escaped as ``&amp;``, ``&lt;`` and ``&gt;``, which Slack shows as the
characters and never interprets; mrkdwn text objects are also sent with
``verbatim`` on, so Slack does not turn bare names into links or mentions.
Formatting characters such as ``*`` or ``_`` are left alone: at worst they
bold part of a name.

Change alerts (:meth:`SlackNotifier.send_alert`) post the alert's text, escaped
the same way, with a button that opens the analysis when the host gave a link.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from ga4_button_workflows.models import ButtonInsights, ButtonMetrics, Recommendation
from ga4_button_workflows.notifiers import _http
from ga4_button_workflows.render import describe_button
from ga4_button_workflows.trends import ChangeAlert

if TYPE_CHECKING:
    import httpx

__all__ = [
    "SlackNotifier",
    "build_slack_alert",
    "build_slack_message",
    "escape_slack",
]

logger = logging.getLogger(__name__)

_HEADER_CHARS = 150
_FIELD_CHARS = 2000
_TEXT_CHARS = 3000
_NAME_CHARS = 200
_URL_CHARS = 3000


def escape_slack(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so Slack shows ``text`` and runs nothing."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackNotifier:
    """Posts a Block Kit summary to a Slack incoming webhook.

    The message has a header, the best and worst button and the most engaging
    variant with their numbers, the top findings with the evidence behind
    them, and the data-quality caveats.

    Args:
        webhook_url: The incoming webhook URL. It is a secret: it never
            appears in logs, errors or ``repr``.
        channel: The delivery channel name; give each Slack notifier of one
            worker its own, e.g. ``"slack:#growth"``.
        max_findings: How many recommendations to show.
        title: The message header, before the property ID.
        timeout_s: Timeout of each request, in seconds.
        client: An httpx client to post with (for proxies or custom TLS);
            by default each notification opens its own.

    Raises:
        ValueError: The webhook URL is not an http(s) URL.
    """

    def __init__(
        self,
        webhook_url: str,
        *,
        channel: str = "slack",
        max_findings: int = 5,
        title: str = "GA4 button analysis",
        timeout_s: float = _http.DEFAULT_TIMEOUT_S,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        _http.validate_url(webhook_url, what="Slack webhook URL")
        self._webhook_url = webhook_url
        self._channel = channel
        self._max_findings = max_findings
        self._title = title
        self._timeout_s = timeout_s
        self._client = client

    def __repr__(self) -> str:
        return f"SlackNotifier(channel={self._channel!r})"

    @property
    def channel(self) -> str:
        """See :class:`~ga4_button_workflows.ports.Notifier`."""
        return self._channel

    async def send(self, insights: ButtonInsights, *, analysis_id: str) -> None:
        """Post the summary; raise a classified ``ApplicationError`` on failure."""
        message = build_slack_message(
            insights,
            analysis_id=analysis_id,
            max_findings=self._max_findings,
            title=self._title,
        )
        await _http.post(
            self._webhook_url,
            content=json.dumps(message, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            channel=self._channel,
            timeout_s=self._timeout_s,
            client=self._client,
        )
        logger.info("Posted analysis %s to %s", analysis_id, self._channel)

    async def send_alert(self, alert: ChangeAlert) -> None:
        """Post one change alert; raise a classified ``ApplicationError``."""
        await _http.post(
            self._webhook_url,
            content=json.dumps(build_slack_alert(alert), ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            channel=self._channel,
            timeout_s=self._timeout_s,
            client=self._client,
        )
        logger.info(
            "Posted a change alert of analysis %s to %s",
            alert.analysis_id,
            self._channel,
        )


def build_slack_alert(alert: ChangeAlert) -> dict[str, Any]:
    """Return the Slack message of a change alert; its text is escaped."""
    headline = alert.text.splitlines()[0] if alert.text else "Change alert"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _mrkdwn(alert.text, _TEXT_CHARS)}
    ]
    url = alert.analysis_url
    if url and len(url) <= _URL_CHARS:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the analysis"},
                        "url": url,
                    }
                ],
            }
        )
    return {
        "text": _fit(headline, _TEXT_CHARS),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def build_slack_message(
    insights: ButtonInsights,
    *,
    analysis_id: str,
    max_findings: int = 5,
    title: str = "GA4 button analysis",
) -> dict[str, Any]:
    """Return the Slack message (``text`` fallback and Block Kit ``blocks``).

    Useful on its own to post through a bot token (``chat.postMessage``)
    instead of an incoming webhook. Every GA4-derived string is escaped.
    """
    by_label = {metrics.label: metrics for metrics in insights.buttons}
    period = str(insights.period) if insights.period else "unknown period"
    context = [f"Period {period}"]
    if insights.schema_name:
        context.append(f"schema {insights.schema_name}")
    context.append(f"analysis {analysis_id}")

    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _fit(
                    f"{title}: property {insights.property_id}", _HEADER_CHARS
                ),
                "emoji": True,
            },
        },
        {"type": "context", "elements": [_mrkdwn(" · ".join(context), _TEXT_CHARS)]},
        {
            "type": "section",
            "fields": [
                _field("Best button", insights.best_performing_button, by_label),
                _field("Worst button", insights.worst_performing_button, by_label),
                _variant_field(insights),
                _mrkdwn(
                    "*Buttons analysed*\n"
                    + str(
                        insights.performance_summary.get("total_buttons_analyzed", 0)
                    ),
                    _FIELD_CHARS,
                ),
            ],
        },
    ]
    if insights.selection_note:
        blocks.append(
            {"type": "context", "elements": [_mrkdwn(insights.selection_note, 500)]}
        )
    findings = _findings(insights, max_findings)
    if findings:
        blocks.append(
            {"type": "section", "text": _lines("*Top findings*", findings, _TEXT_CHARS)}
        )
    if insights.caveats:
        caveats = [f"⚠️ {_fit(caveat, 500)}" for caveat in insights.caveats]
        blocks.append(
            {"type": "context", "elements": [_lines("*Caveats*", caveats, _TEXT_CHARS)]}
        )

    best = insights.best_performing_button or "none named"
    fallback = (
        f"{title} for property {insights.property_id}, {period}: best button {best}"
    )
    return {
        "text": _fit(fallback, _TEXT_CHARS),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _field(
    heading: str, label: str | None, by_label: dict[str, ButtonMetrics]
) -> dict[str, Any]:
    if label is None:
        return _mrkdwn(f"*{heading}*\n–", _FIELD_CHARS)
    text = f"*{heading}*\n{_fit(label, _NAME_CHARS)}"
    metrics = by_label.get(label)
    if metrics is not None:
        text += f"\n{describe_button(metrics)}"
    return _mrkdwn(text, _FIELD_CHARS, escaped=True)


def _variant_field(insights: ButtonInsights) -> dict[str, Any]:
    variant = insights.most_engaging_variant
    if variant is None:
        return _mrkdwn("*Most engaging variant*\n–", _FIELD_CHARS)
    text = f"*Most engaging variant*\n{_fit(variant, _NAME_CHARS)}"
    probability = insights.most_engaging_variant_probability
    if probability is not None:
        text += f"\n{probability:.0%} chance of the highest CTR"
    return _mrkdwn(text, _FIELD_CHARS, escaped=True)


def _findings(insights: ButtonInsights, limit: int) -> list[str]:
    if insights.recommendation_details:
        return [_finding(detail) for detail in insights.recommendation_details[:limit]]
    return [f"• {_fit(text, 500)}" for text in insights.recommendations[:limit]]


def _finding(detail: Recommendation) -> str:
    line = f"• {_fit(detail.text, 500)}"
    evidence = [
        f"{key.replace('_', ' ')} {_number(value)}"
        for key, value in detail.evidence.items()
        if value is not None
    ]
    if evidence:
        line += f"\n      _{_fit(' · '.join(evidence), 400)}_"
    return line


def _number(value: float | int | str) -> str:
    if isinstance(value, (bool, str)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.3g}"


def _lines(heading: str, lines: list[str], limit: int) -> dict[str, Any]:
    """A mrkdwn text of already escaped lines, dropping lines past ``limit``."""
    text = heading
    for line in lines:
        if len(text) + 1 + len(line) > limit:
            break
        text += f"\n{line}"
    return _mrkdwn(text, limit, escaped=True)


def _mrkdwn(text: str, limit: int, *, escaped: bool = False) -> dict[str, Any]:
    return {
        "type": "mrkdwn",
        "text": text[:limit] if escaped else _fit(text, limit),
        "verbatim": True,
    }


def _fit(text: str, limit: int) -> str:
    """Escape ``text`` and cut it to ``limit`` characters, never inside an entity."""
    escaped = escape_slack(text)
    if len(escaped) <= limit:
        return escaped
    pieces: list[str] = []
    length = 0
    for char in text:
        piece = escape_slack(char)
        if length + len(piece) > limit - 1:
            break
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces) + "…"
