"""Which final score a clinician's payment adjustment uses when it has more than one.

2019 election guide: "If the practice elects to opt-in as a group and the clinician elects to
opt-in as an individual, the clinician would get the higher of the two final scores and
associated payment adjustment." 2022 guide: "Final payment adjustment will be based on the
highest available score or virtual group participation, if applicable." 2019 data submission
guide: data submitted as an individual and as a group is evaluated both ways, "but your payment
adjustment will be based on the higher score."

Scoring calls :func:`score_for_payment_adjustment` with every final score a TIN/NPI has; a score
earned under a voluntary election never counts toward an adjustment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class ScoreSource(StrEnum):
    INDIVIDUAL = "individual"
    GROUP = "group"
    APM_ENTITY = "apm_entity"
    VIRTUAL_GROUP = "virtual_group"


@dataclass(frozen=True, slots=True)
class FinalScoreCandidate:
    source: ScoreSource
    final_score: Decimal
    counts_for_adjustment: bool = True
    """False for a score earned by voluntary reporting (no payment adjustment)."""


@dataclass(frozen=True, slots=True)
class ChosenScore:
    source: ScoreSource
    final_score: Decimal
    explanation: str
    considered: tuple[FinalScoreCandidate, ...]


def score_for_payment_adjustment(
    candidates: Sequence[FinalScoreCandidate],
) -> ChosenScore | None:
    """The final score the clinician's payment adjustment uses, or None when no score counts.

    A virtual group score, when the clinician's TIN is in a virtual group, is used as such
    (virtual group participation); otherwise the highest score counts, and on a tie the
    individual score is named (it is the clinician's own)."""
    counted = [c for c in candidates if c.counts_for_adjustment]
    if not counted:
        return None
    virtual = [c for c in counted if c.source is ScoreSource.VIRTUAL_GROUP]
    if virtual:
        chosen = virtual[0]
        return ChosenScore(
            chosen.source,
            chosen.final_score,
            f"The virtual group's final score ({chosen.final_score}) is used because the "
            "clinician's practice takes part in the virtual group.",
            tuple(candidates),
        )
    order = list(ScoreSource)
    chosen = max(counted, key=lambda c: (c.final_score, -order.index(c.source)))
    others = [c for c in counted if c is not chosen]
    if not others:
        explanation = f"The {chosen.source.value.replace('_', ' ')} final score is the only one."
    else:
        listed = ", ".join(
            f"{c.source.value.replace('_', ' ')} {c.final_score}" for c in [chosen, *others]
        )
        explanation = (
            f"The higher final score is used: {chosen.source.value.replace('_', ' ')} "
            f"{chosen.final_score} (of {listed})."
        )
    skipped = [c for c in candidates if not c.counts_for_adjustment]
    if skipped:
        explanation += " Scores from voluntary reporting do not count toward an adjustment."
    return ChosenScore(chosen.source, chosen.final_score, explanation, tuple(candidates))
