"""Score one submission: the four categories, their reweighting, and the final score.

Which categories count (mips-rules.md §4.2 "Reweighting triggers"):

* a category with no data is scored 0 (it is not reweighted for that alone), except cost, which
  nobody submits: cost is not scored when no CMS cost measure result meets its case minimum;
* an approved exception (PI hardship, extreme and uncontrollable circumstances) reweights the
  categories it names to 0%;
* the year's special statuses reweight PI automatically (``pi.reweighted_special_statuses``:
  hospital-based, ASC-based, non-patient facing, and small practices from 2022);
* data submitted for a reweighted category overrides the reweighting for that category, and the
  category is scored (2019 data submission user guide: "If you click Continue and enter any data
  ... you will receive a score in this performance category"; the context's
  ``submitted_despite_reweighting`` records that confirmation).

Only traditional MIPS measurement sets (program ``mips``) are scored here; APP and MVP sets are
listed in a warning.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import cast

from openqpp.core.scoring.context import ScoringContext
from openqpp.core.scoring.cost import score_cost
from openqpp.core.scoring.explain import HUNDRED, ZERO, listed
from openqpp.core.scoring.final import CATEGORIES, TITLES, final_score
from openqpp.core.scoring.ia import score_ia
from openqpp.core.scoring.pi import score_pi
from openqpp.core.scoring.tree import ScoreNode
from openqpp.core.submissions.model import (
    PROGRAM_MIPS,
    Category,
    MeasurementSet,
    Submission,
)
from openqpp.measures import MeasuresYear
from openqpp.policy import Policy

QualityScorer = Callable[..., ScoreNode]
EXCEPTION_NAMES = {
    "pi_hardship": "Promoting Interoperability hardship",
    "euc": "extreme and uncontrollable circumstances",
}


def _quality_scorer() -> QualityScorer | None:
    """The quality scorer, imported when first needed (it is built beside this module)."""
    try:
        module = importlib.import_module("openqpp.core.scoring.quality")
    except ImportError:
        return None
    scorer = getattr(module, "score_quality", None)
    return cast(QualityScorer, scorer) if callable(scorer) else None


def _not_scored(category: str, rule: str, explanation: str, **inputs: object) -> ScoreNode:
    return ScoreNode(
        name=category,
        rule=rule,
        points=ZERO,
        maximum=None,
        explanation=explanation,
        title=TITLES[category],
        inputs={"scored": False, **inputs},
    )


def _score_quality(
    sets: Sequence[MeasurementSet],
    *,
    policy: Policy,
    measures: MeasuresYear,
    context: ScoringContext,
) -> ScoreNode:
    quality_sets = [s for s in sets if s.category is Category.QUALITY]
    if not quality_sets:
        return ScoreNode(
            name="quality",
            rule="quality.no_data",
            points=ZERO,
            maximum=HUNDRED,
            explanation="No quality data was submitted, so the category scores 0 (a category is "
            "reweighted only for a reason CMS recognises, such as an approved exception).",
            title="Quality",
        )
    scorer = _quality_scorer()
    if scorer is None:
        return _not_scored(
            "quality",
            "quality.unavailable",
            "Quality data was submitted but this installation cannot score quality yet; the "
            "category is left out of this preliminary score.",
        )
    return scorer(quality_sets, policy=policy, measures=measures, context=context)


def _reweighting(
    category: str, *, policy: Policy, context: ScoringContext
) -> list[tuple[str, str]]:
    """(rule, reason) for each reason the category is reweighted to 0%."""
    reasons: list[tuple[str, str]] = []
    for exception in context.approved_exceptions:
        if category in exception.categories:
            kind = EXCEPTION_NAMES.get(exception.kind.value, exception.kind.value)
            reasons.append(
                (f"{category}.reweighted_exception", f"an approved {kind} exception application")
            )
    if category == "pi":
        statuses = [
            s.value
            for s in sorted(context.special_statuses)
            if s.value in policy.scoring.pi.reweighted_special_statuses
        ]
        if statuses:
            reasons.append(
                (
                    "pi.reweighted_special_status",
                    f"the special status {listed([s.replace('_', ' ') for s in statuses])}, "
                    f"for which CMS reweights Promoting Interoperability in {policy.year}",
                )
            )
    return reasons


def score_submission(
    submission: Submission,
    *,
    policy: Policy,
    measures: MeasuresYear,
    context: ScoringContext,
) -> ScoreNode:
    """The preliminary score tree of one submission (root ``total``)."""
    mips_sets = [s for s in submission.measurement_sets if s.program == PROGRAM_MIPS]
    other_programs = sorted({s.program for s in submission.measurement_sets} - {PROGRAM_MIPS})
    has_data = bool(mips_sets)
    computed: dict[str, ScoreNode] = {
        "quality": _score_quality(mips_sets, policy=policy, measures=measures, context=context),
        "pi": score_pi(mips_sets, policy=policy, measures=measures, context=context),
        "ia": score_ia(mips_sets, policy=policy, measures=measures, context=context),
        "cost": score_cost(policy=policy, context=context),
    }
    submitted = {s.category.value for s in mips_sets}
    categories: dict[str, ScoreNode] = {}
    for c in CATEGORIES:
        node = computed[c]
        reasons = _reweighting(c, policy=policy, context=context)
        if not reasons:
            categories[c] = node
            continue
        why = " and ".join(r for _, r in reasons)
        if c in submitted or c in context.submitted_despite_reweighting:
            categories[c] = replace(
                node,
                explanation=(
                    f"{TITLES[c]} would be reweighted to 0% because of {why}, but data was "
                    "submitted for it, which overrides the reweighting: the category is scored. "
                    + node.explanation
                ),
                inputs={**node.inputs, "reweighting_overridden": [r for r, _ in reasons]},
                warnings=(*node.warnings, f"{c}: submitted data overrides the reweighting"),
            )
            continue
        categories[c] = _not_scored(
            c,
            reasons[0][0],
            f"{TITLES[c]} is not scored (reweighted to 0%) because of {why}; its weight goes to "
            "the other categories. Submitting data for it would override this.",
            reasons=[r for r, _ in reasons],
        )
    root = final_score(
        categories,
        policy=policy,
        context=context,
        has_data=has_data,
        inputs={
            "submission_performance_year": submission.performance_year,
            "entity_type": submission.entity_type.value,
            "measures_data": measures.source,
            "measures_year": measures.year,
        },
    )
    warnings: list[str] = []
    if other_programs:
        warnings.append(
            f"Measurement sets for {listed(other_programs)} are not scored here: this score "
            "covers traditional MIPS sets only."
        )
    if submission.performance_year != policy.year:
        warnings.append(
            f"The submission is for {submission.performance_year} but was scored with the "
            f"{policy.year} rules."
        )
    if warnings:
        root = replace(root, warnings=(*root.warnings, *warnings))
    return root
