"""Small helpers the category scorers share: policy paths that are unverified, number wording."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

from openqpp.core.scoring.tree import Combine, ScoreNode, rounded
from openqpp.policy import Policy

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def unverified(policy: Policy, *paths: str) -> tuple[str, ...]:
    """The given policy parameter paths whose value for the policy's year is unverified."""
    found: list[str] = []
    for path in paths:
        parameter = policy.parameters.get(path)
        verified = parameter.verified if parameter is not None else policy.is_verified(path)
        if not verified:
            found.append(path)
    return tuple(found)


def number(value: Decimal | int, places: int = 2) -> str:
    """A number for a sentence: at most ``places`` decimals, no trailing zeros (``12.5``)."""
    d = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{d:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def whole(value: Decimal) -> Decimal:
    """Rounded half up to a whole number (CMS rounds PI measure points this way)."""
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def listed(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def node(
    name: str,
    rule: str,
    points: Decimal,
    maximum: Decimal | None,
    explanation: str,
    *,
    title: str | None = None,
    combine: Combine = Combine.LEAF,
    children: tuple[ScoreNode, ...] = (),
    inputs: Mapping[str, object] | None = None,
    unverified: tuple[str, ...] = (),
) -> ScoreNode:
    """A score node with its points rounded to CMS's four places."""
    return ScoreNode(
        name=name,
        rule=rule,
        points=rounded(points),
        maximum=maximum,
        explanation=explanation,
        title=title,
        combine=combine,
        children=children,
        inputs=dict(inputs or {}),
        unverified=unverified,
    )
