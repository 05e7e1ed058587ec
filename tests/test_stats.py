from __future__ import annotations

import ast
import json
import math
import random
import statistics
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ga4_button_workflows import stats
from ga4_button_workflows.stats import (
    ComparisonStatus,
    Interval,
    PValueAdjustment,
    SampleMoments,
    SampleRatioStatus,
    adjust_p_values,
    chance_to_beat,
    compare_means,
    compare_proportions,
    probability_best,
    reject_hypotheses,
    srm_test,
    wilson_interval,
)

ORACLE_COPY = Path(__file__).parent / "data" / "stats_oracles.json"
SHARED_ORACLE = (
    Path(__file__).resolve().parents[2] / "shared" / "cases" / "stats_oracles.json"
)
ORACLES = json.loads(ORACLE_COPY.read_text(encoding="utf-8"))

ORACLE_ADJUSTMENTS = {"bonferroni": "bonferroni", "holm": "holm", "bh": "fdr_bh"}
MAX_COUNT = 10**12


def assert_matches(actual: float | None, expected: float | None) -> None:
    """Oracle tolerance: absolute 1e-6, relative 1e-6 below 1e-3; null is None."""
    if expected is None:
        assert actual is None
        return
    assert actual is not None
    if abs(expected) < 1e-3:
        assert math.isclose(actual, expected, rel_tol=1e-6, abs_tol=0.0)
    else:
        assert abs(actual - expected) <= 1e-6


def floats_in(value: object) -> Iterator[float]:
    """Every float inside a result: attrs fields, tuples and lists, recursively."""
    if isinstance(value, float):
        yield value
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from floats_in(getattr(value, field.name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from floats_in(item)


def assert_all_finite(value: object) -> None:
    for number in floats_in(value):
        assert math.isfinite(number), value


# --- exact references ---------------------------------------------------------


def _poly_mul(left: Sequence[int], right: Sequence[int]) -> list[int]:
    product = [0] * (len(left) + len(right) - 1)
    for i, a in enumerate(left):
        if a:
            for j, b in enumerate(right):
                product[i + j] += a * b
    return product


def _one_minus_x_power(power: int) -> list[int]:
    return [math.comb(power, j) * (-1) ** j for j in range(power + 1)]


def _beta_pdf_poly(successes: int, trials: int) -> list[int]:
    failures = trials - successes
    shape = _poly_mul([0] * successes + [1], _one_minus_x_power(failures))
    scale = (trials + 1) * math.comb(trials, successes)
    return [scale * c for c in shape]


def _beta_cdf_poly(successes: int, trials: int) -> list[int]:
    # I_x(a, b) = P(Binomial(a + b - 1, x) >= a) for whole-number a and b.
    a = successes + 1
    n = trials + 1
    cdf = [0] * (n + 1)
    for j in range(a, n + 1):
        term = _poly_mul([0] * j + [1], _one_minus_x_power(n - j))
        for k, c in enumerate(term):
            cdf[k] += math.comb(n, j) * c
    return cdf


def exact_probability_best(arms: Sequence[tuple[int, int]]) -> list[Fraction]:
    """Exact P(each arm is best) by integrating polynomials with rationals."""
    pdfs = [_beta_pdf_poly(*arm) for arm in arms]
    cdfs = [_beta_cdf_poly(*arm) for arm in arms]
    result = []
    for j, pdf in enumerate(pdfs):
        poly = pdf
        for k, cdf in enumerate(cdfs):
            if k != j:
                poly = _poly_mul(poly, cdf)
        result.append(sum(Fraction(c, k + 1) for k, c in enumerate(poly)))
    return result


# --- strategies ---------------------------------------------------------------


@st.composite
def arm_counts(draw: st.DrawFn, max_trials: int = MAX_COUNT) -> tuple[int, int]:
    trials = draw(
        st.one_of(
            st.integers(0, 60),
            st.integers(0, 20_000),
            st.integers(0, max_trials),
        )
    )
    successes = draw(
        st.one_of(
            st.integers(0, trials),
            st.integers(0, min(trials, 5)),
            st.integers(max(0, trials - 5), trials),
        )
    )
    return successes, trials


p_value_lists = st.lists(
    st.one_of(st.none(), st.floats(0.0, 1.0), st.sampled_from([0.0, 0.01, 1.0])),
    max_size=20,
)


# --- the oracle ---------------------------------------------------------------


def test_oracle_copy_matches_the_shared_file() -> None:
    if not SHARED_ORACLE.exists():
        pytest.skip(f"no shared/ folder beside the repository ({SHARED_ORACLE})")
    shared = json.loads(SHARED_ORACLE.read_text(encoding="utf-8"))
    assert shared == ORACLES


@pytest.mark.parametrize("case", ORACLES["two_proportion_z"])
def test_pooled_z_test_matches_oracle(case: dict[str, object]) -> None:
    result = compare_proportions((case["xa"], case["na"]), (case["xb"], case["nb"]))

    assert_matches(result.z, case["pooled_z"])
    assert_matches(result.p_value, case["pooled_p"])


@pytest.mark.parametrize("case", ORACLES["two_proportion_z"])
def test_unpooled_wald_test_and_interval_match_oracle(case: dict[str, object]) -> None:
    result = compare_proportions((case["xa"], case["na"]), (case["xb"], case["nb"]))

    assert_matches(result.wald_z, case["unpooled_wald_z"])
    assert_matches(result.wald_p_value, case["unpooled_wald_p"])
    assert result.difference_interval is not None
    lower, upper = case["diff_wald_ci95"]
    assert_matches(result.difference_interval.lower, lower)
    assert_matches(result.difference_interval.upper, upper)


@pytest.mark.parametrize("case", ORACLES["wilson_95"])
def test_wilson_interval_matches_oracle(case: dict[str, object]) -> None:
    interval = wilson_interval(case["x"], case["n"])

    if case["interval"] is None:
        assert interval is None
    else:
        assert interval is not None
        assert_matches(interval.lower, case["interval"][0])
        assert_matches(interval.upper, case["interval"][1])


@pytest.mark.parametrize("case", ORACLES["chance_b_beats_a_beta11"])
def test_chance_to_beat_matches_oracle(case: dict[str, object]) -> None:
    control = (case["xa"], case["na"])
    treatment = (case["xb"], case["nb"])

    assert_matches(chance_to_beat(control, treatment), case["p"])
    assert_matches(compare_proportions(control, treatment).chance_to_beat, case["p"])


@pytest.mark.parametrize(("method", "oracle_key"), ORACLE_ADJUSTMENTS.items())
def test_p_value_adjustment_matches_oracle(method: str, oracle_key: str) -> None:
    family = ORACLES["p_adjust"]["bh1995_15"]
    expected = family[oracle_key]

    adjusted = adjust_p_values(family["p"], method)

    for actual, wanted in zip(adjusted, expected["adjusted"], strict=True):
        assert_matches(actual, wanted)
    assert reject_hypotheses(adjusted, 0.05) == expected["reject"]


@pytest.mark.parametrize("case", ORACLES["srm_chi_square"])
def test_sample_ratio_check_matches_oracle(case: dict[str, object]) -> None:
    check = srm_test(case["observed"], case["weights"])

    assert_matches(check.chi2, case["chi2"])
    assert_matches(check.p_value, case["p"])
    assert_matches(check.p_value, case["gbstats_check_srm"])
    assert check.degrees_of_freedom == len(case["observed"]) - 1


# --- compare_proportions --------------------------------------------------------


def test_zero_of_three_against_three_of_three_is_not_enough_data() -> None:
    result = compare_proportions((0, 3), (3, 3))

    assert result.status is ComparisonStatus.NOT_ENOUGH_DATA
    assert not result.decision_allowed
    assert result.p_value == pytest.approx(0.0143, abs=1e-4)


def test_not_enough_data_holds_even_without_a_trial_minimum() -> None:
    result = compare_proportions((0, 3), (3, 3), min_trials=0)

    assert result.status is ComparisonStatus.NOT_ENOUGH_DATA


def test_identical_zero_rates_report_zero_variance_and_defined_numbers() -> None:
    result = compare_proportions((0, 100), (0, 100))

    assert result.status is ComparisonStatus.ZERO_VARIANCE
    assert not result.decision_allowed
    assert result.z is None
    assert result.p_value is None
    assert result.difference == 0.0
    assert result.difference_interval == Interval(0.0, 0.0)
    assert result.relative_lift is None
    assert result.lift_interval is None
    assert result.chance_to_beat == 0.5


def test_all_successes_in_both_arms_report_zero_variance() -> None:
    result = compare_proportions((100, 100), (300, 300))

    assert result.status is ComparisonStatus.ZERO_VARIANCE
    assert result.relative_lift == 0.0
    assert result.wald_z is None


def test_an_arm_without_trials_reports_no_exposures() -> None:
    result = compare_proportions((0, 0), (40, 200))

    assert result.status is ComparisonStatus.NO_EXPOSURES
    assert result.control_rate is None
    assert result.treatment_rate == 0.2
    assert result.difference is None
    assert result.difference_interval is None
    assert result.p_value is None
    assert 0.0 < result.chance_to_beat < 1.0


def test_zero_baseline_allows_a_decision_but_has_no_lift() -> None:
    result = compare_proportions((0, 1000), (40, 1000))

    assert result.status is ComparisonStatus.ZERO_BASELINE
    assert result.decision_allowed
    assert result.relative_lift is None
    assert result.lift_interval is None
    assert result.p_value is not None
    assert result.p_value < 1e-6


def test_enough_data_in_both_arms_is_ok() -> None:
    result = compare_proportions((200, 1000), (250, 1000))

    assert result.status is ComparisonStatus.OK
    assert result.decision_allowed
    assert result.control_rate == 0.2
    assert result.treatment_rate == 0.25
    assert result.difference == pytest.approx(0.05)


def test_rare_failures_gate_a_decision_like_rare_successes() -> None:
    result = compare_proportions((995, 1000), (1000, 1000))

    assert result.status is ComparisonStatus.NOT_ENOUGH_DATA


def test_too_few_trials_in_one_arm_is_not_enough_data() -> None:
    result = compare_proportions((200, 1000), (30, 99))

    assert result.status is ComparisonStatus.NOT_ENOUGH_DATA


def test_relative_lift_interval_is_the_delta_method_interval() -> None:
    result = compare_proportions((200, 1000), (250, 1000))

    ratio = 0.25 / 0.2
    se = ratio * math.sqrt(0.8 / 200 + 0.75 / 250)
    z = statistics.NormalDist().inv_cdf(0.975)
    assert result.relative_lift == pytest.approx(0.25)
    assert result.lift_interval is not None
    assert result.lift_interval.lower == pytest.approx(0.25 - z * se)
    assert result.lift_interval.upper == pytest.approx(0.25 + z * se)


def test_confidence_widens_the_difference_interval() -> None:
    narrow = compare_proportions((200, 1000), (250, 1000), confidence=0.8)
    wide = compare_proportions((200, 1000), (250, 1000), confidence=0.99)

    assert narrow.difference_interval is not None
    assert wide.difference_interval is not None
    assert wide.difference_interval.lower < narrow.difference_interval.lower
    assert wide.difference_interval.upper > narrow.difference_interval.upper


@pytest.mark.parametrize(
    ("control", "treatment", "message"),
    [
        ((-1, 10), (1, 10), "-1"),
        ((11, 10), (1, 10), "11 successes out of 10"),
        ((1, 10), (1, -10), "-10"),
    ],
)
def test_compare_proportions_rejects_impossible_counts(
    control: tuple[int, int], treatment: tuple[int, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compare_proportions(control, treatment)


def test_compare_proportions_rejects_fractional_counts() -> None:
    with pytest.raises(TypeError, match="whole number"):
        compare_proportions((1.5, 10), (1, 10))  # type: ignore[arg-type]


def test_compare_proportions_rejects_a_count_that_is_not_a_pair() -> None:
    with pytest.raises(TypeError, match="pair"):
        compare_proportions((1, 2, 3), (1, 10))


# --- Wilson interval ----------------------------------------------------------


def test_wilson_interval_is_none_without_trials() -> None:
    assert wilson_interval(0, 0) is None


def test_wilson_interval_bounds_are_exact_at_the_extremes() -> None:
    none_clicked = wilson_interval(0, 10**12)
    all_clicked = wilson_interval(10**12, 10**12)

    assert none_clicked is not None
    assert none_clicked.lower == 0.0
    assert all_clicked is not None
    assert all_clicked.upper == 1.0


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5, math.nan])
def test_wilson_interval_rejects_confidence_outside_zero_one(
    confidence: float,
) -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        wilson_interval(1, 10, confidence)


def test_wilson_interval_rejects_more_successes_than_trials() -> None:
    with pytest.raises(ValueError, match="cannot exceed trials"):
        wilson_interval(11, 10)


def test_wilson_interval_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="must not be negative, got -3"):
        wilson_interval(-3, 10)


@settings(max_examples=200, deadline=None)
@given(arm_counts(), st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99, 0.999]))
def test_wilson_interval_contains_the_rate_and_stays_in_unit_range(
    arm: tuple[int, int], confidence: float
) -> None:
    successes, trials = arm
    interval = wilson_interval(successes, trials, confidence)

    if trials == 0:
        assert interval is None
        return
    assert interval is not None
    assert_all_finite(interval)
    assert 0.0 <= interval.lower <= interval.upper <= 1.0
    assert interval.contains(successes / trials)


# --- chance to beat -----------------------------------------------------------


@pytest.mark.parametrize(
    ("control", "treatment"),
    [
        ((3, 10), (5, 12)),  # smallest Beta parameter: control successes
        ((9, 10), (5, 12)),  # control failures
        ((7, 30), (1, 20)),  # treatment successes
        ((7, 30), (19, 20)),  # treatment failures
        ((0, 0), (0, 5)),
        ((12, 40), (12, 40)),
    ],
)
def test_chance_to_beat_equals_the_exact_rational_value(
    control: tuple[int, int], treatment: tuple[int, int]
) -> None:
    exact = exact_probability_best([control, treatment])[1]

    assert chance_to_beat(control, treatment) == pytest.approx(float(exact), abs=1e-12)


def test_chance_to_beat_with_few_successes_in_huge_arms_matches_the_gamma_limit() -> (
    None
):
    # With 10**12 trials, Beta(4, ~n) and Beta(6, ~n) are Gamma(4)/n and Gamma(6)/n,
    # and P(Gamma(6) > Gamma(4)) = P(Binomial(9, 1/2) >= 4) = 382/512.
    result = chance_to_beat((3, MAX_COUNT), (5, MAX_COUNT))

    assert result == pytest.approx(382 / 512, abs=1e-9)


def test_chance_to_beat_edgeworth_agrees_with_exact_sum_at_the_switch() -> None:
    smallest = stats.CHANCE_EXACT_MAX_TERMS
    cases = [
        (smallest, 4 * smallest, smallest + 150, 4 * smallest - 150),
        (smallest, 3 * smallest, 40 * smallest, 117 * smallest),
        (smallest, 50 * smallest, 2 * smallest, 99 * smallest),
        (smallest, 9 * smallest, smallest, 9 * smallest + 400),
    ]
    for a_a, b_a, a_b, b_b in cases:
        exact = stats._miller_sum(a_a, b_a, a_b, b_b)
        approximate = stats._edgeworth_chance(a_a, b_a, a_b, b_b)
        assert abs(exact - approximate) < 5e-8, (a_a, b_a, a_b, b_b)


def test_chance_to_beat_is_continuous_across_the_exact_sum_limit() -> None:
    limit = stats.CHANCE_EXACT_MAX_TERMS
    below = chance_to_beat((limit - 1, 5 * limit), (limit + 200, 5 * limit))
    above = chance_to_beat((limit, 5 * limit), (limit + 201, 5 * limit))

    assert abs(below - above) < 1e-4


def test_chance_to_beat_with_huge_counts_is_finite_and_decisive() -> None:
    half = MAX_COUNT // 2

    assert chance_to_beat((half, MAX_COUNT), (half + 10**7, MAX_COUNT)) > 0.999999
    assert chance_to_beat((half, MAX_COUNT), (half, MAX_COUNT)) == 0.5


@settings(max_examples=150, deadline=None)
@given(arm_counts(), arm_counts())
def test_swapping_arms_flips_the_difference_and_complements_chance_to_beat(
    control: tuple[int, int], treatment: tuple[int, int]
) -> None:
    forward = compare_proportions(control, treatment)
    backward = compare_proportions(treatment, control)

    assert forward.status is not None
    if forward.difference is None:
        assert backward.difference is None
    else:
        assert backward.difference == -forward.difference
        assert forward.difference_interval is not None
        assert backward.difference_interval is not None
        assert backward.difference_interval.lower == pytest.approx(
            -forward.difference_interval.upper, abs=1e-12
        )
    assert forward.p_value == backward.p_value
    assert forward.chance_to_beat + backward.chance_to_beat == pytest.approx(
        1.0, abs=1e-12
    )


@settings(max_examples=150, deadline=None)
@given(
    arm_counts(),
    arm_counts(),
    st.integers(0, 1000),
    st.integers(0, 100),
    st.sampled_from([0.8, 0.95, 0.99]),
)
def test_compare_proportions_never_yields_nan_or_infinity(
    control: tuple[int, int],
    treatment: tuple[int, int],
    min_trials: int,
    min_successes: int,
    confidence: float,
) -> None:
    result = compare_proportions(
        control,
        treatment,
        confidence=confidence,
        min_trials=min_trials,
        min_successes=min_successes,
    )

    assert_all_finite(result)
    assert 0.0 <= result.chance_to_beat <= 1.0
    for rate in (result.control_rate, result.treatment_rate):
        assert rate is None or 0.0 <= rate <= 1.0
    for p_value in (result.p_value, result.wald_p_value):
        assert p_value is None or 0.0 <= p_value <= 1.0
    if result.difference_interval is not None:
        assert result.difference is not None
        assert -1.0 <= result.difference_interval.lower <= result.difference
        assert result.difference <= result.difference_interval.upper <= 1.0
    if result.lift_interval is not None:
        assert result.relative_lift is not None
        assert result.lift_interval.lower >= -1.0
        assert result.lift_interval.contains(result.relative_lift)
    assert result.decision_allowed == (
        result.status in {ComparisonStatus.OK, ComparisonStatus.ZERO_BASELINE}
    )


# --- probability best ---------------------------------------------------------


def test_probability_best_of_a_single_arm_is_certain() -> None:
    assert probability_best([(3, 10)]) == [1.0]


def test_probability_best_of_two_arms_is_chance_to_beat() -> None:
    chance = chance_to_beat((49, 100), (51, 100))

    assert probability_best([(49, 100), (51, 100)]) == [1.0 - chance, chance]


@pytest.mark.parametrize(
    "arms",
    [
        [(2, 18), (1, 8), (0, 0)],
        [(6, 6), (17, 24), (21, 22), (31, 34)],
        [(0, 2), (3, 26), (5, 30)],
        [(3, 3), (16, 24), (22, 25), (22, 40)],
        [(0, 40), (1, 40), (0, 35)],
        [(40, 40), (38, 40), (39, 39)],
        [(0, 0), (0, 0), (2, 5)],
        [(1, 4), (1, 4), (0, 3), (1, 4)],
    ],
)
def test_probability_best_matches_exact_rational_integrals(
    arms: list[tuple[int, int]],
) -> None:
    exact = exact_probability_best(arms)

    result = probability_best(arms)

    for actual, wanted in zip(result, exact, strict=True):
        assert actual == pytest.approx(float(wanted), abs=1e-6)


def test_probability_best_is_symmetric_for_equal_arms() -> None:
    assert probability_best([(10, 100)] * 3) == [1 / 3] * 3
    first, second, third = probability_best([(10, 100), (12, 100), (10, 100)])
    assert first == third
    assert second > first


def test_probability_best_keeps_the_uniform_prior_for_arms_without_trials() -> None:
    assert probability_best([(0, 0), (0, 0), (0, 0), (0, 0)]) == [0.25] * 4
    empty, seen, same = probability_best([(0, 0), (50, 100), (50, 100)])
    assert seen == same
    assert empty == pytest.approx(1.0 - 2 * seen)


def test_probability_best_gives_a_dominated_arm_zero() -> None:
    result = probability_best([(10, 1000), (500, 1000), (510, 1000)])

    assert result[0] == 0.0
    assert result[2] > result[1]


def test_probability_best_barely_moves_when_the_grid_is_refined() -> None:
    rng = random.Random(7)
    for _ in range(10):
        base = rng.uniform(0.01, 0.3)
        arms = []
        for _ in range(5):
            exposed = rng.randint(200, 20_000)
            arms.append((round(exposed * base * rng.uniform(0.8, 1.2)), exposed))
        groups = sorted(set(arms))
        multiplicities = [1] * len(groups)
        coarse = stats._integrate_probability_best(groups, multiplicities)
        fine = stats._integrate_probability_best(groups, multiplicities, 0.25)
        for default, refined in zip(coarse, fine, strict=True):
            assert default / sum(coarse) == pytest.approx(refined / sum(fine), abs=1e-6)


def test_probability_best_handles_counts_up_to_a_trillion() -> None:
    half = MAX_COUNT // 2
    arms = [(half, MAX_COUNT), (half + 10**6, MAX_COUNT), (0, MAX_COUNT), (7, 9)]

    result = probability_best(arms)

    assert_all_finite(result)
    assert math.fsum(result) == pytest.approx(1.0)
    assert result[1] > result[0]
    assert result[2] == 0.0


def test_probability_best_rejects_an_empty_list() -> None:
    with pytest.raises(ValueError, match="at least one arm"):
        probability_best([])


@settings(max_examples=60, deadline=None)
@given(st.lists(arm_counts(), min_size=1, max_size=5))
def test_probability_best_is_finite_and_sums_to_one(
    arms: list[tuple[int, int]],
) -> None:
    result = probability_best(arms)

    assert len(result) == len(arms)
    assert_all_finite(result)
    assert all(0.0 <= p <= 1.0 for p in result)
    assert math.fsum(result) == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(arm_counts(max_trials=50_000), min_size=2, max_size=4), st.randoms())
def test_probability_best_follows_its_arms_when_they_are_shuffled(
    arms: list[tuple[int, int]], rng: random.Random
) -> None:
    order = list(range(len(arms)))
    rng.shuffle(order)

    result = probability_best(arms)
    shuffled = probability_best([arms[i] for i in order])

    for position, original in enumerate(order):
        assert shuffled[position] == pytest.approx(result[original], abs=1e-12)


# --- sample ratio mismatch ----------------------------------------------------


@pytest.mark.parametrize(
    ("statistic", "degrees_of_freedom", "expected"),
    [
        (0.5, 2, math.exp(-0.25)),
        (1400.0, 2, math.exp(-700.0)),
        (3.0, 1, math.erfc(math.sqrt(1.5))),
        (200.0, 1, math.erfc(10.0)),
        (7.0, 4, math.exp(-3.5) * (1 + 3.5)),
        (0.01, 6, math.exp(-0.005) * (1 + 0.005 + 0.005**2 / 2)),
    ],
)
def test_chi_square_survival_matches_closed_forms(
    statistic: float, degrees_of_freedom: int, expected: float
) -> None:
    actual = stats._chi2_survival(statistic, degrees_of_freedom)

    assert math.isclose(actual, expected, rel_tol=1e-12)


def test_srm_with_equal_traffic_is_ok() -> None:
    check = srm_test([1000, 1010, 990])

    assert check.status is SampleRatioStatus.OK
    assert check.expected == (1000.0, 1000.0, 1000.0)


def test_srm_small_imbalance_is_a_warning() -> None:
    check = srm_test([1000, 1130])

    assert check.p_value is not None
    assert 0.001 <= check.p_value < 0.01
    assert check.status is SampleRatioStatus.WARNING


def test_srm_large_imbalance_is_a_mismatch() -> None:
    check = srm_test([1000, 1200])

    assert check.status is SampleRatioStatus.MISMATCH


def test_srm_weights_are_normalised() -> None:
    assert srm_test([2000, 1000], [2, 1]) == srm_test([2000, 1000], [2 / 3, 1 / 3])
    assert srm_test([2000, 1000], [2, 1]).chi2 == 0.0


def test_srm_flags_traffic_into_an_arm_meant_to_get_none() -> None:
    check = srm_test([100, 100, 5], [1, 1, 0])

    assert check.status is SampleRatioStatus.MISMATCH
    assert check.chi2 is None
    assert check.p_value is None


def test_srm_leaves_out_an_unweighted_arm_without_traffic() -> None:
    check = srm_test([100, 100, 0], [1, 1, 0])

    assert check.status is SampleRatioStatus.OK
    assert check.degrees_of_freedom == 1
    assert check.chi2 == 0.0


def test_srm_with_thin_traffic_reports_numbers_but_no_verdict() -> None:
    check = srm_test([9, 0])

    assert check.status is SampleRatioStatus.NOT_ENOUGH_TRAFFIC
    assert check.chi2 == 9.0
    assert check.p_value == pytest.approx(math.erfc(math.sqrt(4.5)))


def test_srm_without_traffic_has_no_statistic() -> None:
    check = srm_test([0, 0])

    assert check.status is SampleRatioStatus.NOT_ENOUGH_TRAFFIC
    assert check.chi2 is None
    assert check.p_value is None


@pytest.mark.parametrize(
    ("observed", "weights", "message"),
    [
        ([10], None, "at least two arms"),
        ([10, 10], [1.0], "one weight per arm"),
        ([10, 10], [1.0, -1.0], "non-negative"),
        ([10, 10], [1.0, math.nan], "finite"),
        ([10, 10], [0.0, 0.0], "must not all be 0"),
        ([10, -1], None, "must not be negative"),
    ],
)
def test_srm_rejects_bad_input(
    observed: list[int], weights: list[float] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        srm_test(observed, weights)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(0, 100), st.integers(0, MAX_COUNT)),
        min_size=2,
        max_size=8,
    ),
    st.data(),
)
def test_srm_never_yields_nan_or_infinity(
    observed: list[int], data: st.DataObject
) -> None:
    weights = data.draw(
        st.one_of(
            st.none(),
            st.lists(
                st.floats(0.0, 1000.0), min_size=len(observed), max_size=len(observed)
            ).filter(lambda ws: sum(ws) > 0.0),
        )
    )

    check = srm_test(observed, weights)

    assert_all_finite(check)
    assert check.p_value is None or 0.0 <= check.p_value <= 1.0
    assert check.chi2 is None or check.chi2 >= 0.0


# --- p-value adjustment ---------------------------------------------------------


def test_none_p_values_stay_none_and_leave_the_family() -> None:
    adjusted = adjust_p_values([0.01, None, 0.02], "bonferroni")

    assert adjusted == [0.02, None, 0.04]
    assert reject_hypotheses(adjusted, 0.03) == [True, None, False]


def test_adjustment_accepts_the_enum() -> None:
    assert adjust_p_values([0.01, 0.04], PValueAdjustment.BH) == [0.02, 0.04]
    assert adjust_p_values([0.03, 0.04], PValueAdjustment.BH) == [0.04, 0.04]


def test_adjustment_of_an_empty_family_is_empty() -> None:
    assert adjust_p_values([], "holm") == []


def test_unknown_adjustment_lists_the_valid_methods() -> None:
    with pytest.raises(ValueError, match="'holm', 'bh', 'bonferroni'"):
        adjust_p_values([0.1], "fdr")


def test_adjustment_rejects_p_values_outside_zero_one() -> None:
    with pytest.raises(ValueError, match=r"p_values\[1\] must be a probability"):
        adjust_p_values([0.1, 1.2])


def test_reject_hypotheses_rejects_alpha_outside_zero_one() -> None:
    with pytest.raises(ValueError, match="alpha"):
        reject_hypotheses([0.01], 1.0)


@settings(max_examples=150, deadline=None)
@given(p_value_lists, st.sampled_from(list(PValueAdjustment)))
def test_adjusted_p_values_never_fall_below_raw_and_keep_their_order(
    p_values: list[float | None], method: PValueAdjustment
) -> None:
    adjusted = adjust_p_values(p_values, method)

    assert len(adjusted) == len(p_values)
    tested = []
    for raw, value in zip(p_values, adjusted, strict=True):
        if raw is None:
            assert value is None
            continue
        assert value is not None
        assert raw <= value <= 1.0
        tested.append((raw, value))
    for raw, value in tested:
        for other_raw, other_value in tested:
            if raw <= other_raw:
                assert value <= other_value


# --- compare_means --------------------------------------------------------------


def moments_of(values: Sequence[float]) -> SampleMoments:
    return SampleMoments(
        count=len(values),
        total=math.fsum(values),
        sum_of_squares=math.fsum(v * v for v in values),
    )


def test_means_without_sums_of_squares_are_descriptive_only() -> None:
    control = SampleMoments(count=400, total=400 * 850.0)
    treatment = SampleMoments(count=380, total=380 * 910.0)

    result = compare_means(control, treatment)

    assert result.status is ComparisonStatus.VARIANCE_UNKNOWN
    assert result.reason is not None
    assert "sums of squares" in result.reason
    assert result.difference == pytest.approx(60.0)
    assert result.relative_difference == pytest.approx(60.0 / 850.0)
    assert result.p_value is None
    assert result.difference_interval is None


def test_means_with_sums_of_squares_get_a_welch_interval_and_p_value() -> None:
    rng = random.Random(3)
    control_values = [rng.gammavariate(2.0, 400.0) for _ in range(300)]
    treatment_values = [rng.gammavariate(2.0, 450.0) for _ in range(250)]

    result = compare_means(moments_of(control_values), moments_of(treatment_values))

    se = math.sqrt(
        statistics.variance(control_values) / 300
        + statistics.variance(treatment_values) / 250
    )
    difference = statistics.fmean(treatment_values) - statistics.fmean(control_values)
    z = statistics.NormalDist().inv_cdf(0.975)
    assert result.status is ComparisonStatus.OK
    assert result.reason is None
    assert result.difference == pytest.approx(difference)
    assert result.z == pytest.approx(difference / se)
    assert result.p_value == pytest.approx(math.erfc(abs(difference / se) / 2**0.5))
    assert result.difference_interval is not None
    assert result.difference_interval.lower == pytest.approx(difference - z * se)
    assert result.relative_interval is not None
    assert result.relative_difference is not None
    assert result.relative_interval.contains(result.relative_difference)


def test_means_of_an_arm_without_users_report_no_exposures() -> None:
    result = compare_means(SampleMoments(count=0, total=0.0), moments_of([1.0, 2.0]))

    assert result.status is ComparisonStatus.NO_EXPOSURES
    assert result.control_mean is None
    assert result.difference is None


def test_means_with_constant_values_report_zero_variance() -> None:
    result = compare_means(moments_of([5.0] * 50), moments_of([7.0] * 50))

    assert result.status is ComparisonStatus.ZERO_VARIANCE
    assert result.difference == 2.0
    assert result.z is None


def test_means_of_small_arms_still_report_numbers() -> None:
    result = compare_means(moments_of([1.0, 2.0, 4.0]), moments_of([2.0, 3.0, 7.0]))

    assert result.status is ComparisonStatus.NOT_ENOUGH_DATA
    assert result.p_value is not None
    assert result.reason is not None


def test_means_with_a_zero_control_mean_have_no_relative_difference() -> None:
    control = moments_of([-1.0, 1.0] * 20)
    treatment = moments_of([0.0, 2.0] * 20)

    result = compare_means(control, treatment)

    assert result.status is ComparisonStatus.ZERO_BASELINE
    assert result.relative_difference is None
    assert result.p_value is not None


def test_means_reject_inconsistent_moments() -> None:
    with pytest.raises(ValueError, match="inconsistent"):
        compare_means(
            SampleMoments(count=10, total=100.0, sum_of_squares=10.0),
            moments_of([1.0, 2.0]),
        )


@st.composite
def per_user_moments(draw: st.DrawFn) -> SampleMoments:
    count = draw(st.one_of(st.none(), st.integers(0, 100), st.integers(0, MAX_COUNT)))
    mean = draw(st.floats(0.0, 1e6))
    sd = draw(st.floats(0.0, 1e6))
    if count is None:
        return SampleMoments(total=draw(st.none() | st.floats(0.0, 1e6)))
    squares = draw(st.none() | st.just(count * (mean * mean + sd * sd)))
    return SampleMoments(count=count, total=count * mean, sum_of_squares=squares)


@settings(max_examples=150, deadline=None)
@given(per_user_moments(), per_user_moments(), st.integers(0, 100))
def test_compare_means_never_yields_nan_or_infinity(
    control: SampleMoments, treatment: SampleMoments, min_count: int
) -> None:
    result = compare_means(control, treatment, min_count=min_count)

    assert_all_finite(result)
    assert result.p_value is None or 0.0 <= result.p_value <= 1.0
    assert (result.reason is None) == (result.status is ComparisonStatus.OK)


# --- the module itself ----------------------------------------------------------


def test_stats_imports_only_the_standard_library_and_attrs() -> None:
    tree = ast.parse(Path(stats.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])

    allowed = {
        "__future__",
        "attrs",
        "bisect",
        "collections",
        "enum",
        "functools",
        "itertools",
        "math",
        "operator",
        "statistics",
    }
    assert imported <= allowed


# --- relative change on the log scale ---------------------------------------------


class TestRatioChange:
    def test_the_interval_is_katz_on_the_log_scale(self) -> None:
        z = statistics.NormalDist().inv_cdf(0.975)
        log_ratio = math.log((294 / 7000) / (420 / 7000))
        se = math.sqrt(1 / 294 - 1 / 7000 + 1 / 420 - 1 / 7000)

        interval = stats.ratio_change_interval((420, 7000), (294, 7000))

        assert interval is not None
        assert interval.lower == pytest.approx(math.expm1(log_ratio - z * se))
        assert interval.upper == pytest.approx(math.expm1(log_ratio + z * se))
        assert interval.upper - (-0.3) > (-0.3) - interval.lower  # not symmetric

    def test_a_drop_to_zero_can_be_total_but_is_still_bounded(self) -> None:
        interval = stats.ratio_change_interval((25, 100_000), (0, 100_000))

        assert interval is not None
        assert interval.lower == -1.0
        assert -1.0 < interval.upper < -0.5
        # Confidently a drop of more than half, not of more than 97%.
        beyond_half = stats.ratio_beyond_p_value((25, 100_000), (0, 100_000), 0.5)
        beyond_97 = stats.ratio_beyond_p_value((25, 100_000), (0, 100_000), 0.97)
        assert beyond_half is not None
        assert beyond_half < 0.05
        assert beyond_97 is not None
        assert beyond_97 > 0.05
        assert stats.ratio_beyond_p_value((25, 100_000), (0, 100_000), 1.0) == 1.0

    @pytest.mark.parametrize(
        ("control", "treatment"),
        [((0, 100), (5, 100)), ((0, 0), (5, 100)), ((5, 100), (0, 0))],
    )
    def test_no_relative_size_without_a_control_rate_or_trials(
        self, control: tuple[int, int], treatment: tuple[int, int]
    ) -> None:
        assert stats.ratio_change_interval(control, treatment) is None
        assert stats.ratio_beyond_p_value(control, treatment, 0.1) is None

    def test_with_no_margin_the_p_value_is_half_the_two_sided_log_ratio_p(
        self,
    ) -> None:
        log_ratio = math.log((294 / 7000) / (420 / 7000))
        se = math.sqrt(1 / 294 - 1 / 7000 + 1 / 420 - 1 / 7000)
        two_sided = math.erfc(abs(log_ratio) / se / math.sqrt(2))

        p = stats.ratio_beyond_p_value((420, 7000), (294, 7000), 0.0)

        assert p == pytest.approx(two_sided / 2)

    def test_the_p_value_matches_the_interval_at_the_margin(self) -> None:
        """The 90% interval's upper bound is the margin where p = 0.05."""
        interval = stats.ratio_change_interval((420, 7000), (294, 7000), 0.90)
        assert interval is not None

        p = stats.ratio_beyond_p_value((420, 7000), (294, 7000), -interval.upper)

        assert p == pytest.approx(0.05)

    @pytest.mark.parametrize("margin", [-0.1, math.nan, math.inf])
    def test_a_bad_margin_is_refused(self, margin: float) -> None:
        with pytest.raises(ValueError, match="margin must be a finite"):
            stats.ratio_beyond_p_value((420, 7000), (294, 7000), margin)

    @settings(max_examples=300, deadline=None)
    @given(
        control=st.integers(1, 10**6).flatmap(
            lambda n: st.tuples(st.integers(1, n), st.just(n))
        ),
        treatment=st.integers(1, 10**6).flatmap(
            lambda n: st.tuples(st.integers(0, n), st.just(n))
        ),
        margin=st.floats(0.0, 3.0),
        confidence=st.floats(0.5, 0.999),
    )
    def test_intervals_hold_the_estimate_and_p_values_are_probabilities(
        self,
        control: tuple[int, int],
        treatment: tuple[int, int],
        margin: float,
        confidence: float,
    ) -> None:
        interval = stats.ratio_change_interval(control, treatment, confidence)
        p = stats.ratio_beyond_p_value(control, treatment, margin)
        estimate = (treatment[0] / treatment[1]) / (control[0] / control[1]) - 1

        assert interval is not None
        assert p is not None
        assert math.isfinite(interval.lower)
        assert math.isfinite(interval.upper)
        assert -1.0 <= interval.lower <= estimate <= interval.upper
        assert 0.0 <= p <= 1.0
        # A larger margin is never easier to exceed.
        larger = stats.ratio_beyond_p_value(control, treatment, margin + 0.1)
        assert larger is not None
        assert larger >= p


class TestInputKinds:
    @pytest.mark.parametrize(
        ("call", "error", "message"),
        [
            (lambda: stats.wilson_interval(True, 10), TypeError, "whole number"),
            (lambda: stats.wilson_interval(1, 2**63), ValueError, "64-bit"),
            (lambda: stats.wilson_interval(1, 10, "0.95"), TypeError, "confidence"),  # type: ignore[arg-type]
            (
                lambda: stats.ratio_beyond_p_value((5, 10), (4, 10), "0.1"),  # type: ignore[arg-type]
                TypeError,
                "margin must be a number",
            ),
            (
                lambda: stats.ratio_beyond_p_value((5, 10), (4, 10), 10**400),
                ValueError,
                "margin must be a finite",
            ),
        ],
    )
    def test_a_value_of_the_wrong_kind_or_size_is_named(
        self, call: Callable[[], object], error: type[Exception], message: str
    ) -> None:
        with pytest.raises(error, match=message):
            call()
