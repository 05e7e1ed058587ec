"""Time compute_metrics + generate_insights on a large synthetic report.

Run with ``python benchmarks/bench_core.py [buttons] [variants]``; the default is
10,000 buttons x 5 variants (50,000 entries, 40,000 comparisons).
"""

from __future__ import annotations

import datetime
import random
import sys
import time

from ga4_button_workflows.insights import (
    generate_insights,
    insights_document,
    validate_insights_document,
)
from ga4_button_workflows.metrics import compute_metrics
from ga4_button_workflows.models import (
    ButtonCounts,
    ButtonReport,
    Period,
    VariantExposure,
)

VARIANTS = ("original", "colors", "sizes", "spacing", "typography")


def make_report(buttons: int, variants: int, seed: int = 7) -> ButtonReport:
    rng = random.Random(seed)
    names = [*VARIANTS, *(f"variant_{i}" for i in range(len(VARIANTS), variants))]
    names = names[:variants]
    page_users = {name: rng.randint(40_000, 60_000) for name in names}
    counts = []
    for index in range(buttons):
        base_rate = rng.uniform(0.001, 0.2)
        for name in names:
            exposed = rng.randint(50, page_users[name])
            clicking = sum(1 for _ in range(3) if rng.random() < 0.5) + int(
                exposed * base_rate * rng.uniform(0.8, 1.2)
            )
            hovering = int(clicking * rng.uniform(0.8, 3.0))
            duration_events = hovering + clicking
            counts.append(
                ButtonCounts(
                    button=f"button_{index:05d}",
                    variant=name,
                    exposed_users=exposed,
                    exposure_events=exposed * 2,
                    clicking_users=clicking,
                    click_events=int(clicking * 1.3),
                    hovering_users=hovering,
                    hover_events=int(hovering * 1.5),
                    hover_duration_total_ms=duration_events * rng.uniform(300, 3000),
                    hover_duration_events=duration_events,
                )
            )
    return ButtonReport(
        property_id="123456789",
        period=Period(datetime.date(2024, 1, 1), datetime.date(2024, 1, 7)),
        schema_name="generic_buttons",
        counts=tuple(counts),
        exposures=tuple(
            VariantExposure(variant=name, users=users, events=users * 3)
            for name, users in sorted(page_users.items())
        ),
    )


def main() -> None:
    buttons = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    variants = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    report = make_report(buttons, variants)
    generated_at = datetime.datetime(2024, 1, 8, 6, tzinfo=datetime.timezone.utc)

    started = time.perf_counter()
    metrics = compute_metrics(report)
    computed = time.perf_counter()
    insights = generate_insights(metrics, generated_at=generated_at)
    finished = time.perf_counter()
    document = insights_document(insights)
    validate_insights_document(document)

    print(
        f"{buttons:,} buttons x {variants} variants: {len(metrics.buttons):,} entries, "
        f"{len(metrics.comparisons):,} comparisons"
    )
    print(f"compute_metrics:   {computed - started:.2f} s")
    print(f"generate_insights: {finished - computed:.2f} s")
    print(f"total:             {finished - started:.2f} s")
    print(
        f"document: {len(insights.buttons)} entries listed, "
        f"{len(insights.recommendations)} recommendations"
    )


if __name__ == "__main__":
    main()
