"""The tests behind the canary's and the bake's verdicts, in plain Python (no SciPy on the task's
path). docs/extension.md ("How a canary step is judged") says why these and what they assume.

- `excess_error_z`: is the watched error rate above the baseline's by more than a margin?
  Farrington and Manning's score test for a difference of two binomial proportions (the
  variance comes from the rates that fit the null hypothesis best, which keeps it sound when
  errors are rare).
- `slower_z`: are the watched response times more than `ratio` times and `margin` above the
  baseline's? Two Mann-Whitney tests on shifted samples; slower only if both say so (an
  intersection-union test: each at the full level).
- `minutes_slower_z`: the same question on per-minute averages (Azure Monitor's), Welch's t.
- `combined_z`: two independent z scores (the probes, the metrics) as one, Stouffer's way.
- `look_alphas`: the false-alarm budget spread over the looks, Pocock's way, so looking again
  and again cannot add up to more than the budget.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from statistics import NormalDist
from typing import Optional

_NORMAL = NormalDist()


def z_for(alpha: float) -> float:
    """The one-sided critical value: P(Z > z) = alpha."""
    return -_NORMAL.inv_cdf(alpha)  # not inv_cdf(1 - alpha): 1 - 1e-17 is 1.0


def p_of(z: float) -> float:
    """One-sided p-value of a z score."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def look_alphas(alpha: float, looks: int) -> list[float]:
    """Each look's share of `alpha` (Pocock-type spending: alpha * ln(1 + (e - 1) t)); they
    add up to `alpha`, early looks get a little more than late ones."""
    spent = [alpha * math.log(1.0 + (math.e - 1.0) * k / looks) for k in range(looks + 1)]
    return [later - earlier for earlier, later in zip(spent, spent[1:])]


def excess_error_z(
    errors: int, requests: int, base_errors: int, base_requests: int, margin: float
) -> float:
    """z of H1 "watched rate - baseline rate > margin" (rates and margin as fractions).

    No baseline requests: the watched rate against the margin alone. No watched requests: 0.
    """
    if requests <= 0:
        return 0.0
    rate = errors / requests
    if base_requests <= 0:
        return _bounded(rate - margin, margin * (1.0 - margin) / requests)
    base_rate = base_errors / base_requests
    fitted, base_fitted = _restricted_rates(rate, requests, base_rate, base_requests, margin)
    variance = (
        fitted * (1.0 - fitted) / requests + base_fitted * (1.0 - base_fitted) / base_requests
    )
    return _bounded(rate - base_rate - margin, variance)


LARGEST_Z = 40.0  # beyond any threshold; keeps sums of scores finite


def _bounded(difference: float, variance: float) -> float:
    if variance <= 0:
        return math.copysign(LARGEST_Z, difference) if difference else 0.0
    return max(-LARGEST_Z, min(LARGEST_Z, difference / math.sqrt(variance)))


def _restricted_rates(
    rate: float, requests: int, base_rate: float, base_requests: int, margin: float
) -> tuple[float, float]:
    """The rates with watched = baseline + margin that fit the counts best (closed form of the
    cubic, Farrington and Manning 1990)."""
    theta = base_requests / requests
    a = 1.0 + theta
    b = -(1.0 + theta + rate + theta * base_rate + margin * (theta + 2.0))
    c = margin * margin + margin * (2.0 * rate + theta + 1.0) + rate + theta * base_rate
    d = -rate * margin * (1.0 + margin)
    v = b**3 / (27.0 * a**3) - b * c / (6.0 * a * a) + d / (2.0 * a)
    u = math.copysign(math.sqrt(max(0.0, b * b / (9.0 * a * a) - c / (3.0 * a))), v)
    if u == 0.0:
        fitted = -b / (3.0 * a)
    else:
        w = (math.pi + math.acos(max(-1.0, min(1.0, v / u**3)))) / 3.0
        fitted = 2.0 * u * math.cos(w) - b / (3.0 * a)
    fitted = min(1.0, max(margin, fitted))
    return fitted, min(1.0, max(0.0, fitted - margin))


Slower = tuple[float, float]  # z of "more than ratio times slower", z of "more than margin slower"


def slower_z(
    watched: Sequence[float], baseline: Sequence[float], ratio: float, margin: float
) -> Optional[Slower]:
    """z scores of H1 "watched times are more than `ratio` times the baseline's" and of "more
    than `margin` above them" (times in seconds): Mann-Whitney, each. None: too few times."""
    if len(watched) < MIN_TIMES or len(baseline) < MIN_TIMES:
        return None
    scaled = _rank_z(
        [math.log(max(t, 1e-6)) - math.log(ratio) for t in watched],
        [math.log(max(t, 1e-6)) for t in baseline],
    )
    return scaled, _rank_z([t - margin for t in watched], list(baseline))


MIN_TIMES = 5  # fewer timings on a side than this: no latency verdict from them


def _rank_z(first: list[float], second: list[float]) -> float:
    """Mann-Whitney z (with ties and continuity corrected) of "first tends to be larger"."""
    ordered = sorted(second)
    u = 0.0
    for value in first:
        below = bisect_left(ordered, value)
        u += below + 0.5 * (bisect_right(ordered, value, below) - below)
    n1, n2 = len(first), len(second)
    total = n1 + n2
    ties = sum(size**3 - size for size in Counter(first + second).values() if size > 1)
    variance = n1 * n2 / 12.0 * ((total + 1) - ties / (total * (total - 1)))
    centred = u - n1 * n2 / 2.0
    return _bounded(centred - math.copysign(0.5, centred) if centred else 0.0, variance)


def minutes_slower_z(
    watched: Sequence[float], baseline: Sequence[float], ratio: float, margin: float
) -> Optional[Slower]:
    """`slower_z`'s questions on per-minute averages, with Welch's t (as z scores of the same
    p-values); needs two minutes a side."""
    if len(watched) < 2 or len(baseline) < 2:
        return None
    scaled = _welch_z(
        [math.log(max(t, 1e-6)) - math.log(ratio) for t in watched],
        [math.log(max(t, 1e-6)) for t in baseline],
    )
    return scaled, _welch_z([t - margin for t in watched], list(baseline))


def _welch_z(first: list[float], second: list[float]) -> float:
    n1, n2 = len(first), len(second)
    mean1, mean2 = sum(first) / n1, sum(second) / n2
    var1 = sum((x - mean1) ** 2 for x in first) / (n1 - 1)
    var2 = sum((x - mean2) ** 2 for x in second) / (n2 - 1)
    spread = var1 / n1 + var2 / n2
    if spread <= 0:
        return _bounded(mean1 - mean2, 0.0)
    t = (mean1 - mean2) / math.sqrt(spread)
    freedom = spread**2 / ((var1 / n1) ** 2 / (n1 - 1) + (var2 / n2) ** 2 / (n2 - 1))
    p = _t_tail(abs(t), freedom)  # the smaller tail, accurate however far out
    if p <= 0.0:
        return math.copysign(LARGEST_Z, t)
    return math.copysign(min(LARGEST_Z, z_for(p)), t)


def _t_tail(t: float, freedom: float) -> float:
    """P(T > t) for Student's t with `freedom` degrees of freedom."""
    x = freedom / (freedom + t * t)
    tail = 0.5 * _incomplete_beta(freedom / 2.0, 0.5, x)
    return tail if t > 0 else 1.0 - tail


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b)
        - math.lgamma(a)
        - math.lgamma(b)
        + a * math.log(x)
        + b * math.log(1.0 - x)
    )
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _incomplete_beta(b, a, 1.0 - x)
    # Lentz's method for the continued fraction.
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-12:
            break
    return math.exp(log_front) * fraction / a


def combined_z(scores: Sequence[tuple[float, float]]) -> float:
    """Stouffer's weighted sum of independent z scores, given as (z, weight)."""
    weights = math.sqrt(sum(weight * weight for _, weight in scores))
    if weights <= 0:
        return 0.0
    return sum(z * w for z, w in scores) / weights
