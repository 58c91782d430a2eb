"""Improvement Activities: the category score from the attested activities.

The rules (mips-rules.md §4.5; 2019 data submission user guide, Improvement Activities):

* Each activity attested yes earns the points of its weight (medium / high), or the flat points
  of a year without weights; the points are doubled (``ia.special_status_multiplier``) for a small
  practice, a rural or HPSA practice and non-patient facing clinicians ("you earn 2xs the points
  per reported improvement activity").
* A certified patient-centred medical home (the context, or IA_PCMH attested) earns full credit.
* Clinicians in an APM "automatically receive 50% credit ... as long as some MIPS data is
  submitted": 20 points shown as awarded (for a group, with at least one clinician in an APM).
* The sum is capped at 40 ("You cannot earn more than 40 points in this category"); the category
  gives the sum divided by 40 of its weight.

Activities attested in several measurement sets (a third party's file and a manual entry) are
counted once: the guide lets a practice "manually enter any missing activities".
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from openqpp.core.scoring.context import ScoringContext, SpecialStatus
from openqpp.core.scoring.explain import ZERO, listed, node, number, unverified
from openqpp.core.scoring.tree import Combine, ScoreNode, rounded
from openqpp.core.submissions.model import (
    Category,
    EntityType,
    MeasurementSet,
    MeasurementValue,
)
from openqpp.measures import MeasuresYear
from openqpp.policy import Policy

PCMH_ACTIVITY = "IA_PCMH"
#: Statuses whose activities earn the special status multiplier (42 CFR 414.1380(b)(3)).
DOUBLING_STATUSES = (
    SpecialStatus.SMALL_PRACTICE,
    SpecialStatus.RURAL,
    SpecialStatus.HPSA,
    SpecialStatus.NON_PATIENT_FACING,
)


def _attested(sets: Sequence[MeasurementSet]) -> dict[str, tuple[MeasurementValue, list[str]]]:
    """Each activity once: yes when any set says yes, with the submission methods."""
    found: dict[str, tuple[MeasurementValue, list[str]]] = {}
    for s in sets:
        for m in s.measurements:
            key = m.measure_id.upper()
            value, methods = found.get(key, (m.value, []))
            if m.value is True:
                value = True
            found[key] = (value, [*methods, s.submission_method.value])
    return found


def score_ia(
    sets: Sequence[MeasurementSet],
    *,
    policy: Policy,
    measures: MeasuresYear,
    context: ScoringContext,
) -> ScoreNode:
    """The Improvement Activities category node ``ia``: points out of the cap (40).

    `sets` may hold every measurement set of the submission: the APM credit needs some MIPS
    data in any category, and only the IA sets are read for activities."""
    rules = policy.scoring.ia
    cap = Decimal(rules.cap)
    ia_sets = [s for s in sets if s.category is Category.IA]
    statuses = sorted(s.value for s in DOUBLING_STATUSES if s in context.special_statuses)
    multiplier = Decimal(rules.special_status_multiplier) if statuses else Decimal(1)
    paths: list[str] = ["scoring.ia.cap"]
    if statuses:
        paths.append("scoring.ia.special_status_multiplier")
    children: list[ScoreNode] = []

    share = context.apm_participation_share
    if share is not None and share > 0 and sets:
        points = cap * rules.apm_minimum_share
        paths.append("scoring.ia.apm_minimum_share")
        who = (
            "at least one clinician in the group participates in an APM"
            if context.entity_type is not EntityType.INDIVIDUAL
            else "the clinician participates in an APM"
        )
        children.append(
            node(
                "apm_credit",
                "ia.apm_credit",
                points,
                points,
                f"{number(points)} points awarded for APM participation ({who}): clinicians in an "
                f"APM receive {number(rules.apm_minimum_share * 100)}% credit in Improvement "
                "Activities as long as some MIPS data is submitted.",
                title="APM participation credit",
                inputs={
                    "apm_participation_share": str(share),
                    "share_of_cap": str(rules.apm_minimum_share),
                },
                unverified=unverified(policy, "scoring.ia.apm_minimum_share"),
            )
        )

    attested = _attested(ia_sets)
    pcmh_attested = attested.get(PCMH_ACTIVITY, (False, []))[0] is True
    if rules.pcmh_full_credit and (context.certified_pcmh or pcmh_attested):
        paths.append("scoring.ia.pcmh_full_credit")
        source = "attested IA_PCMH" if pcmh_attested else "is a certified medical home"
        children.append(
            node(
                PCMH_ACTIVITY,
                "ia.pcmh_full_credit",
                cap,
                cap,
                f"The practice {source} (patient-centred medical home or comparable specialty "
                f"practice): full credit, {number(cap)} points.",
                title="Patient-centred medical home",
                unverified=unverified(policy, "scoring.ia.pcmh_full_credit"),
            )
        )

    weighted = rules.medium_points is not None and rules.high_points is not None
    paths += (
        ["scoring.ia.medium_points", "scoring.ia.high_points"]
        if weighted
        else ["scoring.ia.unweighted_points"]
    )
    for activity_id, (value, methods) in attested.items():
        if activity_id == PCMH_ACTIVITY and any(c.name == PCMH_ACTIVITY for c in children):
            continue
        children.append(
            _activitynode(activity_id, value, methods, policy, measures, multiplier, statuses, cap)
        )

    node_unverified = unverified(policy, *dict.fromkeys(paths))
    total = sum((c.points for c in children), ZERO)
    capped = min(total, cap)
    inputs: dict[str, object] = {
        "cap": rules.cap,
        "special_statuses": statuses,
        "multiplier": str(multiplier),
        "sum": number(total),
    }
    if not children:
        return ScoreNode(
            name="ia",
            rule="ia.no_data",
            points=ZERO,
            maximum=cap,
            explanation="No improvement activities were submitted, so the category scores 0 of "
            f"{number(cap)} points.",
            title="Improvement Activities",
            inputs=inputs,
            unverified=node_unverified,
        )
    explanation = f"Improvement Activities: {number(total)} points"
    if statuses:
        explanation += (
            f" (activity points multiplied by {number(multiplier)} for "
            f"{listed([s.replace('_', ' ') for s in statuses])})"
        )
    if total > cap:
        explanation += (
            f", capped at {number(cap)}: you cannot earn more than {number(cap)} points in this "
            "category, even if you submit additional activities."
        )
    else:
        explanation += f" of {number(cap)}."
    explanation += (
        f" The category gives {number(capped)} / {number(cap)} of its weight (points divided by "
        f"{number(cap)}, times the category weight)."
    )
    return ScoreNode(
        name="ia",
        rule="ia.activity_points",
        points=rounded(capped),
        maximum=cap,
        explanation=explanation,
        title="Improvement Activities",
        combine=Combine.SUM,
        children=tuple(children),
        inputs=inputs,
        unverified=node_unverified,
    )


def _activitynode(
    activity_id: str,
    value: MeasurementValue,
    methods: list[str],
    policy: Policy,
    measures: MeasuresYear,
    multiplier: Decimal,
    statuses: list[str],
    cap: Decimal,
) -> ScoreNode:
    rules = policy.scoring.ia
    activity = measures.ia(activity_id)
    inputs: dict[str, object] = {"submission_methods": methods}
    if activity is None:
        return node(
            activity_id,
            "ia.unknown_activity",
            ZERO,
            ZERO,
            f"{activity_id} is not an improvement activity of {policy.year}: it earns no points.",
            inputs=inputs,
        )
    inputs["subcategory"] = activity.subcategory_id
    inputs["weight"] = activity.weight
    if activity.weight == "high" and rules.high_points is not None:
        base = Decimal(rules.high_points)
        weight_text = "high-weighted"
        path = "scoring.ia.high_points"
    elif activity.weight == "medium" and rules.medium_points is not None:
        base = Decimal(rules.medium_points)
        weight_text = "medium-weighted"
        path = "scoring.ia.medium_points"
    elif rules.unweighted_points is not None:
        base = Decimal(rules.unweighted_points)
        weight_text = "an activity"
        path = "scoring.ia.unweighted_points"
    else:
        base = Decimal(rules.medium_points or 0)
        weight_text = "unweighted in the measures data, scored as medium"
        path = "scoring.ia.medium_points"
    points = min(base * multiplier, cap)
    inputs["base_points"] = str(base)
    if value is not True:
        return node(
            activity_id,
            "ia.not_attested",
            ZERO,
            points,
            f"{activity_id} ({activity.title}) was not attested yes: no points.",
            title=activity.title,
            inputs=inputs,
        )
    text = f"{activity_id} ({activity.title}), {weight_text}: {number(base)} points"
    if multiplier != 1:
        who = listed([s.replace("_", " ") for s in statuses])
        text += f", times {number(multiplier)} = {number(points)} for {who}"
    return node(
        activity_id,
        "ia.activity",
        points,
        points,
        text + ".",
        title=activity.title,
        inputs=inputs,
        unverified=unverified(policy, path),
    )
