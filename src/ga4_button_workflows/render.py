"""Render an insights document as text for people (console, e-mail, Slack)."""

from __future__ import annotations

from ga4_button_workflows.models import ButtonInsights

__all__ = ["render_text"]


def render_text(insights: ButtonInsights) -> str:
    """Return a plain-text summary of ``insights``."""
    summary = insights.performance_summary
    lines = [
        f"Best performing button:  {insights.best_performing_button or '-'}",
        f"Worst performing button: {insights.worst_performing_button or '-'}",
        f"Most engaging variant:   {insights.most_engaging_variant or '-'}",
    ]
    if insights.selection_note:
        lines.append(f"Note: {insights.selection_note}")
    lines.append(f"Buttons analysed: {summary.get('total_buttons_analyzed', 0)}")
    lines.append("Recommendations:")
    lines.extend(f"  {text}" for text in insights.recommendations)
    lines.extend(f"Caveat: {caveat}" for caveat in insights.caveats)
    return "\n".join(lines)
