"""The score tree: every number in a preliminary score is a node that says how it was made.

A node has the rule that made it (`rule`, a stable id such as ``quality.achievement_points``),
the inputs that rule read, the points it gave, the most it could give, and a plain-language
explanation a practice can read. A parent is made from its children by its `combine` rule;
:func:`check_tree` proves parents equal their children within the documented rounding, and the
property tests run it on every tree they build.

The CMS score shape (`{name, title, value, detail, parts, metadata, ...}`) is a rendering of this
tree (the web layer's job); our explanation fields are added beside CMS's, never instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

#: Scores are kept to four decimal places, as CMS's scoring engine reports them.
SCORE_PLACES: Final = Decimal("0.0001")
#: The most a parent may differ from its children after rounding each child to SCORE_PLACES.
ROUNDING_TOLERANCE: Final = Decimal("0.001")

_EMPTY: Mapping[str, object] = MappingProxyType({})


def rounded(value: Decimal) -> Decimal:
    """A score value rounded half up to four places (CMS's reporting precision)."""
    return value.quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)


class Combine(StrEnum):
    """How a node's points are made from its children."""

    #: A leaf: the rule computed the points from its inputs.
    LEAF = "leaf"
    #: Sum of the children's points, then limited to `maximum` when there is one (a cap).
    SUM = "sum"
    #: The highest child's points (e.g. the best of several collection types).
    MAX = "max"
    #: Children carry `weight` (percent); points = sum(child.points / child.maximum * weight).
    WEIGHTED = "weighted"
    #: Points are set by a rule over the children that `check_tree` cannot recompute (e.g. a
    #: neutral score when fewer than two categories are scored); the explanation says why.
    RULE = "rule"


@dataclass(frozen=True, slots=True)
class ScoreNode:
    """One number in a score, with how it was made."""

    #: Short name: ``total``, ``quality``, ``pi``, ``ia``, ``cost``, a measure or activity id.
    name: str
    #: Stable rule id, e.g. ``quality.achievement_points``; documented in the scoring docs.
    rule: str
    points: Decimal
    #: The most this node can give (``None`` when unbounded, e.g. a bonus with no cap).
    maximum: Decimal | None
    #: Plain-language sentence(s) for a practice: what was counted and why.
    explanation: str
    title: str | None = None
    combine: Combine = Combine.LEAF
    children: tuple[ScoreNode, ...] = ()
    #: What the rule read (rates, counts, benchmark values, policy values), JSON-friendly.
    inputs: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    #: For `Combine.WEIGHTED` children: the category weight in percent.
    weight: Decimal | None = None
    #: Policy parameter paths this node relied on whose values are unverified.
    unverified: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def walk(self) -> Iterator[ScoreNode]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def child(self, name: str) -> ScoreNode | None:
        return next((c for c in self.children if c.name == name), None)

    def all_unverified(self) -> tuple[str, ...]:
        """Every unverified policy path used anywhere in the tree, once, in order met."""
        seen: dict[str, None] = {}
        for node in self.walk():
            for path in node.unverified:
                seen.setdefault(path, None)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class TreeProblem:
    rule: str
    name: str
    message: str


def expected_points(node: ScoreNode) -> Decimal | None:
    """What `node.points` should be from its children, or None when not recomputable."""
    if node.combine is Combine.SUM:
        total = sum((c.points for c in node.children), Decimal(0))
        return min(total, node.maximum) if node.maximum is not None else total
    if node.combine is Combine.MAX:
        return max((c.points for c in node.children), default=Decimal(0))
    if node.combine is Combine.WEIGHTED:
        total = Decimal(0)
        for c in node.children:
            if c.weight is None or not c.maximum:
                continue
            total += c.points / c.maximum * c.weight
        return min(total, node.maximum) if node.maximum is not None else total
    return None


def check_tree(root: ScoreNode) -> tuple[TreeProblem, ...]:
    """Every place a parent does not equal its children, or a node leaves its bounds."""
    problems: list[TreeProblem] = []
    for node in root.walk():
        if node.points < 0:
            problems.append(TreeProblem(node.rule, node.name, f"negative points {node.points}"))
        if node.maximum is not None and node.points > node.maximum + ROUNDING_TOLERANCE:
            problems.append(
                TreeProblem(node.rule, node.name, f"{node.points} exceeds {node.maximum}")
            )
        want = expected_points(node)
        if want is not None and abs(want - node.points) > ROUNDING_TOLERANCE:
            problems.append(
                TreeProblem(
                    node.rule,
                    node.name,
                    f"points {node.points} but children give {rounded(want)} ({node.combine})",
                )
            )
    return tuple(problems)
