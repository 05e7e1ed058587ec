"""Time the statistics core on a large synthetic property.

10,000 buttons x 5 variants: per button, 4 variant-vs-control comparisons
(compare_proportions), one Holm adjustment of their p-values (adjust_p_values)
and the probability that each variant is best (probability_best).

Run with ``python benchmarks/bench_stats.py [buttons]``.
"""

from __future__ import annotations

import random
import sys
import time

from ga4_button_workflows.stats import (
    adjust_p_values,
    compare_proportions,
    probability_best,
)

VARIANTS = 5


def synthetic_buttons(
    buttons: int, seed: int = 20240601
) -> list[list[tuple[int, int]]]:
    """Per button, ``(clicking_users, exposed_users)`` for each variant."""
    rng = random.Random(seed)
    report = []
    for _ in range(buttons):
        base_rate = rng.uniform(0.01, 0.30)
        arms = []
        for _ in range(VARIANTS):
            exposed = rng.randint(200, 20_000)
            rate = min(1.0, base_rate * rng.uniform(0.8, 1.2))
            arms.append((round(exposed * rate), exposed))
        report.append(arms)
    return report


def analyse(report: list[list[tuple[int, int]]]) -> tuple[float, float, float]:
    """Run the three steps and return the seconds spent in each."""
    compare_s = adjust_s = best_s = 0.0
    for arms in report:
        control, *variants = arms

        started = time.perf_counter()
        results = [compare_proportions(control, variant) for variant in variants]
        compared = time.perf_counter()
        adjust_p_values([result.p_value for result in results], "holm")
        adjusted = time.perf_counter()
        probability_best(arms)
        finished = time.perf_counter()

        compare_s += compared - started
        adjust_s += adjusted - compared
        best_s += finished - adjusted
    return compare_s, adjust_s, best_s


def main() -> None:
    buttons = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    report = synthetic_buttons(buttons)
    comparisons = buttons * (VARIANTS - 1)

    started = time.perf_counter()
    compare_s, adjust_s, best_s = analyse(report)
    wall_s = time.perf_counter() - started

    print(f"{buttons:,} buttons x {VARIANTS} variants = {comparisons:,} comparisons")
    print(f"  compare_proportions  {compare_s:7.2f} s")
    print(f"  adjust_p_values      {adjust_s:7.2f} s")
    print(f"  probability_best     {best_s:7.2f} s")
    print(f"  wall time            {wall_s:7.2f} s")
    print(f"  {comparisons / wall_s:,.0f} comparisons per second (all three steps)")
    print(f"  {buttons / wall_s:,.0f} buttons per second")


if __name__ == "__main__":
    main()
