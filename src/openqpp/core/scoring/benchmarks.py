"""Achievement points from a quality benchmark: which decile a performance rate falls in, and the
partial points inside that decile.

A benchmark gives the *lower bounds of deciles 2 through 10* for one (measure, collection type)
(`benchmarks/<year>/benchmarks-schema.yaml`, ``deciles.description``): a rate at or above the
lower bound of decile *k* (at or below it for an inverse measure) and below the next decile's
lower bound is in decile *k*. Below the decile-2 bound is decile 1, whose implied lower bound is 0
(100 for an inverse percentage measure). A decile whose lower bound equals the next one's is empty
and is skipped.

The data pack writes these bounds in two layouts (measures-data.md §1.6, §3):

* ``deciles`` (performance years up to 2022): 9 numbers, descending for inverse measures; cost and
  non-proportion benchmarks may carry 10, the first being decile 1's lower bound.
* ``percentiles`` (from 2023): keys ``"1"``, ``"10"`` ... ``"90"``, ``"99"``, always ascending.
  ``"10"`` ... ``"90"`` are the lower bounds of deciles 2 ... 10 for a direct measure; for an
  inverse measure the mapping is mirrored (a rate at or below ``"10"`` is decile 10). The outer
  keys ``"1"`` and ``"99"`` are not decile bounds and are not used.

Points inside a decile (42 CFR 414.1380(b)(1)(i): "including partial points"): decile *k* plus the
share of the way from the decile's lower bound to the next decile's, e.g. 73.08 <= 82.31 < 82.71
gives 8 + 9.23 / 9.63 = 8.9585 (CMS's scoring engine, ``partialDecileScore``). Decile 10 gives 10.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal

from openqpp.measures import DECILE_PERCENTILE_KEYS, Benchmark

#: Partial points are kept to four decimal places, as CMS's scoring engine reports them.
PARTIAL_PLACES: Final = Decimal("0.0001")
TOP_DECILE: Final = 10
#: Metric types whose rate is not a percentage (no implied 0-100 range).
NON_PERCENT_METRICS: Final = frozenset({"nonProportion", "costScore"})

Layout = Literal["deciles", "percentiles"]


@dataclass(frozen=True, slots=True)
class DecileBounds:
    """The lower bounds of deciles 2..10 of one benchmark, oriented for the measure.

    ``bounds[0]`` is decile 2's lower bound and ``bounds[8]`` decile 10's. For an inverse measure
    a better rate is a lower one, so "at or above a bound" reads "at or below it".
    """

    bounds: tuple[Decimal, ...]
    inverse: bool
    layout: Layout
    #: Decile 1's lower bound: 0 (100 for inverse) for percentages, the 10th number of a
    #: 10-number decile list, or None when the range is open (inverse non-percentage measures).
    decile_one_bound: Decimal | None

    def meets(self, rate: Decimal, bound: Decimal) -> bool:
        """Whether ``rate`` is at least as good as ``bound``."""
        return rate <= bound if self.inverse else rate >= bound

    def lower_bound(self, decile: int) -> Decimal | None:
        """The lower bound of ``decile`` (1..10)."""
        if decile == 1:
            return self.decile_one_bound
        return self.bounds[decile - 2]

    @property
    def is_flat(self) -> bool:
        """Whether the bounds are the flat 10-percentage-point bands (e.g. measures 001, 236).

        Informational only: flat benchmarks are already written as such in the data pack.
        """
        steps = range(8, 0, -1) if self.inverse else range(2, 10)
        return list(self.bounds[1:]) == [Decimal(10 * k) for k in steps]

    def as_list(self) -> list[str]:
        return [str(b) for b in self.bounds]


def decile_bounds(benchmark: Benchmark, *, inverse: bool, metric_type: str) -> DecileBounds:
    """The decile-2..10 lower bounds of ``benchmark`` in either data layout."""
    implied_one: Decimal | None = Decimal(0)
    if inverse:
        implied_one = Decimal(100) if metric_type not in NON_PERCENT_METRICS else None
    if benchmark.deciles is not None:
        values = tuple(benchmark.deciles)
        if len(values) == 10:
            return DecileBounds(values[1:], inverse, "deciles", values[0])
        return DecileBounds(values, inverse, "deciles", implied_one)
    percentiles = benchmark.percentiles or {}
    ascending = tuple(percentiles[key] for key in DECILE_PERCENTILE_KEYS)
    bounds = tuple(reversed(ascending)) if inverse else ascending
    return DecileBounds(bounds, inverse, "percentiles", implied_one)


@dataclass(frozen=True, slots=True)
class DecilePlacement:
    """Where a rate falls: its decile, the decile's bounds and the points it earns (1..10)."""

    rate: Decimal
    decile: int
    lower: Decimal | None
    #: The next decile's lower bound (None in decile 10).
    upper: Decimal | None
    #: Share (0..1, four places) of the way from ``lower`` to ``upper``.
    fraction: Decimal
    points: Decimal


def _fraction(rate: Decimal, lower: Decimal | None, upper: Decimal | None) -> Decimal:
    if lower is None or upper is None or upper == lower:
        return Decimal(0)
    share = abs(rate - lower) / abs(upper - lower)
    share = min(max(share, Decimal(0)), Decimal(1))
    quantized = share.quantize(PARTIAL_PLACES, rounding=ROUND_HALF_UP)
    # A rate just below the next bound must not round up into the next decile.
    return min(quantized, Decimal(1) - PARTIAL_PLACES)


def place(rate: Decimal, bounds: DecileBounds) -> DecilePlacement:
    """The decile of ``rate`` and its points: decile + partial points, 10 in the top decile."""
    decile = 1
    for index, bound in enumerate(bounds.bounds):
        if bounds.meets(rate, bound):
            decile = index + 2
    if decile == TOP_DECILE:
        return DecilePlacement(
            rate=rate,
            decile=TOP_DECILE,
            lower=bounds.lower_bound(TOP_DECILE),
            upper=None,
            fraction=Decimal(0),
            points=Decimal(TOP_DECILE),
        )
    lower = bounds.lower_bound(decile)
    # The next bound the rate does not meet (skips empty deciles whose bounds repeat).
    upper = next(
        (b for b in bounds.bounds[decile - 1 :] if not bounds.meets(rate, b)),
        None,
    )
    fraction = _fraction(rate, lower, upper)
    return DecilePlacement(
        rate=rate,
        decile=decile,
        lower=lower,
        upper=upper,
        fraction=fraction,
        points=Decimal(decile) + fraction,
    )
