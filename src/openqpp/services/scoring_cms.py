"""Scores in CMS's shape, and the Submissions API's two scoring calls.

CMS's scoring engine answers ``{"data": {"score": {...}}}`` (qpp-submissions-docs: the tutorial
responses of ``GET /submissions/{id}/score`` and the scoring example outputs). The score object
is a tree of *parts*::

    {"name": "total", "title": "Total Score", "detail": "<engine version>", "value": 20.9585,
     "parts": [{"name": "quality", "title": "QUALITY component of total score",
                "detail": "Scoring based on weight of 60%.", "value": 20.9585,
                "original": {<the unweighted category tree>},
                "metadata": {"maxContribution": 60, "unroundedScoreValue": 20.9585}},
               {"name": "bonuses", "value": 0, "parts": [...]}],
     "metadata": {"maxTotalScore": 100, "maxContributionQuality": 60, ...},
     "warnings": ["Disclaimer: ..."], "errors": []}

:func:`cms_score` renders an openqpp score tree that way. Every documented field is there with
its documented meaning; openqpp's explanation fields (``rule``, ``explanation``, ``maximum``,
``inputs``, ``unverified``, ``weight``) are added beside them on every part, never instead of
them. A part's ``metadata`` also carries the node's scalar inputs in CMS's camelCase
(``performanceRate``, ``decile``, ...), so clients that read CMS's metadata find them.

The calls:

* ``POST /submissions/score-preview`` (:func:`preview_score`): a whole QPP JSON submission (or
  ``{"data": {"submission": ...}}`` as CMS's example input is written, or a QRDA III document)
  is validated exactly as an upload is and scored; nothing is stored. When the caller may see
  preliminary scores for the entity, its facts come from the database (special statuses, APM
  participation, cost results it may see), otherwise the default context is used and a warning
  says so.
* ``GET /submissions/{id}/score`` (:func:`stored_score`): the stored submission as the caller
  may see it. Decision (documented in the API description): CMS scores the whole submission for
  the practice; a registry or QCDR gets the score of the measurement sets it submitted, per the
  permission matrix ("View preliminary scoring for your clients based on the data you submitted
  for them"), and the response says so (``metadata.scope``). ``?program=`` is ``mips`` or left
  out: openqpp scores traditional MIPS sets only, so any other program is refused with 422.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from openqpp import __version__
from openqpp.core.access import AccessError, Action
from openqpp.core.errors import OpenQppError
from openqpp.core.scoring.context import ScoringContext
from openqpp.core.scoring.engine import score_submission
from openqpp.core.scoring.explain import number
from openqpp.core.scoring.final import CATEGORIES, is_scored
from openqpp.core.scoring.tree import ScoreNode
from openqpp.core.submissions.acceptance import NotFound
from openqpp.core.submissions.model import PROGRAM_MIPS, EntityType, Submission
from openqpp.db.base import utcnow
from openqpp.db.models import SubmissionRow
from openqpp.services.access.principals import Principal
from openqpp.services.scoring_context import EntityFacts
from openqpp.services.scoring_overview import (
    PreliminaryScore,
    Scoring,
    prepare,
    score_of,
    year_rules,
)
from openqpp.services.submissions import api as submissions_api
from openqpp.services.submissions import store
from openqpp.services.submissions_convert import validate_bytes
from openqpp.settings import Settings

ENGINE = f"openqpp {__version__}"
DISCLAIMER = (
    "Disclaimer: this is a preliminary score computed by openqpp from the data submitted to "
    "date; it is subject to change with policy updates, eligibility reviews and CMS's final "
    "benchmarks. The payment adjustment is an estimate."
)
PART_TITLES = {
    "quality": "QUALITY component of total score",
    "pi": "PI component of total score",
    "ia": "IA component of total score",
    "cost": "COST component of total score",
}
MAX_CONTRIBUTION_KEYS = {
    "quality": "maxContributionQuality",
    "pi": "maxContributionPI",
    "ia": "maxContributionIA",
    "cost": "maxContributionCost",
}
CATEGORY_SCORE_KEYS = {
    "quality": "quality",
    "pi": "pi",
    "ia": "ia",
    "cost": "cost",
}


class ScoreRequestError(OpenQppError):
    """A scoring call that cannot be answered: ``http_status``, and ``details`` for 422s."""

    code = "OQ-SCORE-100"

    def __init__(
        self,
        message: str,
        *,
        fix: str,
        status: int,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, fix=fix, code=code)
        self.http_status = status
        self.details = details


# ---------------------------------------------------------------- rendering


def _number(value: Decimal | int | float) -> float | int:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def camel(name: str) -> str:
    """``performance_rate`` -> ``performanceRate``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool | Decimal)


def _explained(node: ScoreNode, out: dict[str, Any]) -> dict[str, Any]:
    """openqpp's fields beside CMS's."""
    out["rule"] = node.rule
    out["explanation"] = node.explanation
    out["maximum"] = None if node.maximum is None else _number(node.maximum)
    out["combine"] = node.combine.value
    if node.weight is not None:
        out["weight"] = _number(node.weight)
    out["inputs"] = _plain(node.inputs)
    out["unverified"] = list(node.unverified)
    if node.warnings:
        out["warnings"] = list(node.warnings)
    return out


def node_part(node: ScoreNode) -> dict[str, Any]:
    """One node of the tree as a CMS part (``name``, ``title``, ``value``, ``detail``,
    ``parts``, ``metadata``) with openqpp's fields beside."""
    scored = node.maximum is not None
    out: dict[str, Any] = {"name": node.name}
    if node.title:
        out["title"] = node.title
    out["value"] = _number(node.points)
    out["detail"] = f"Contributing {number(node.points)}" if scored else "Not scored"
    if node.children:
        out["parts"] = [node_part(c) for c in node.children]
    metadata: dict[str, Any] = {
        camel(k): _plain(v) for k, v in node.inputs.items() if _scalar(v) and k != "scored"
    }
    metadata["maxContribution"] = None if node.maximum is None else _number(node.maximum)
    metadata["unroundedScoreValue"] = _number(node.points)
    metadata["scored"] = scored
    out["metadata"] = metadata
    return _explained(node, out)


def _category_part(node: ScoreNode) -> dict[str, Any]:
    weight = node.weight or Decimal(0)
    scored = is_scored(node)
    contribution = node.points / node.maximum * weight if scored and node.maximum else Decimal(0)
    if scored:
        detail = f"Scoring based on weight of {number(weight)}%."
    else:
        detail = "Not scored: the category is reweighted to 0% (see explanation)."
    out: dict[str, Any] = {
        "name": node.name,
        "title": PART_TITLES.get(node.name, f"{node.name.upper()} component of total score"),
        "detail": detail,
        "value": _number(round(contribution, 4)),
        "original": node_part(node),
        "metadata": {
            "maxContribution": _number(weight),
            "unroundedScoreValue": float(contribution),
        },
    }
    return _explained(node, out)


def cms_score(
    tree: ScoreNode,
    *,
    metadata: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """The score tree as CMS's score object (``data.score``)."""
    parts: list[dict[str, Any]] = []
    top: dict[str, Any] = {
        "messages": {},
        "maxTotalScore": _number(tree.maximum or Decimal(100)),
    }
    for key in CATEGORIES:
        node = tree.child(key)
        if node is None:
            continue
        part = _category_part(node)
        parts.append(part)
        top[MAX_CONTRIBUTION_KEYS[key]] = part["metadata"]["maxContribution"]
        name = CATEGORY_SCORE_KEYS[key]
        top[f"{name}CategoryScore"] = _number(node.points) if is_scored(node) else None
        top[f"{name}WeightedScore"] = part["value"]
    bonus = tree.child("complex_patient_bonus")
    parts.append(
        {
            "name": "bonuses",
            "value": _number(bonus.points) if bonus else 0,
            "parts": [node_part(bonus)] if bonus else [],
        }
    )
    top["unroundedScoreValue"] = _number(tree.points)
    top["engine"] = ENGINE
    top.update(metadata or {})
    unverified = tree.all_unverified()
    notes = [DISCLAIMER, *tree.warnings, *warnings]
    if unverified:
        notes.append(
            f"This score relies on {len(unverified)} policy value(s) openqpp could not verify: "
            + ", ".join(unverified)
            + "."
        )
    out: dict[str, Any] = {
        "name": tree.name,
        "title": "Total Score",
        "detail": ENGINE,
        "value": _number(tree.points),
        "parts": parts,
        "metadata": top,
        "warnings": notes,
        "errors": [],
    }
    return _explained(tree, out)


def _facts_metadata(facts: EntityFacts | None) -> list[dict[str, str]]:
    if facts is None:
        return []
    return [{"label": f.label, "value": f.value, "source": f.source} for f in facts.facts]


def payment_metadata(
    tree: ScoreNode, *, applies: bool | None = None, reason: str | None = None
) -> dict[str, Any]:
    """The payment adjustment estimate of a score tree, in the API's camelCase."""
    raw = tree.inputs.get("payment_adjustment")
    data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}

    def decimal(key: str) -> float | int | None:
        value = data.get(key)
        return None if value is None else _number(Decimal(str(value)))

    return {
        "estimate": True,
        "percent": decimal("percent"),
        "exceptionalPercent": decimal("exceptional_percent"),
        "scalingFactor": decimal("scaling_factor"),
        "applies": applies,
        "reason": reason,
        "explanation": data.get("explanation"),
        "assumptions": list(data.get("assumptions") or []),
    }


def score_metadata(score: PreliminaryScore) -> dict[str, Any]:
    payment = score.payment
    return {
        "performanceYear": score.year,
        "policyYear": score.policy_year,
        "policyVerified": score.policy_verified,
        "measuresData": score.measures_data,
        "measuresYear": score.measures_year,
        "submissionId": score.submission_id,
        "scope": score.access.scope,
        "scopeNote": score.access.scope_note,
        "determinationRun": score.entity.run_number,
        "entityFacts": _facts_metadata(score.entity),
        "paymentAdjustment": {
            "estimate": True,
            "percent": _number(payment.percent),
            "exceptionalPercent": (
                None
                if payment.exceptional_percent is None
                else _number(payment.exceptional_percent)
            ),
            "scalingFactor": _number(payment.scaling_factor),
            "applies": payment.applies,
            "reason": payment.reason,
            "explanation": payment.explanation,
            "assumptions": list(payment.assumptions),
        },
        "scoredAt": score.scored_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def score_document(score: PreliminaryScore) -> dict[str, Any]:
    """``{"score": ...}`` for a preliminary score (``data`` of the API answer)."""
    notes = [w for w in score.warnings if w not in score.tree.warnings]
    return {"score": cms_score(score.tree, metadata=score_metadata(score), warnings=notes)}


# ---------------------------------------------------------------- requests


def scaling_factor_of(raw: str | None) -> Decimal | None:
    """The ``scalingFactor`` query value (a positive number), or None."""
    if raw is None or not raw.strip():
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value <= 0:
        raise ScoreRequestError(
            f"scalingFactor {raw!r} is not a positive number.",
            fix="Send a number above 0, e.g. scalingFactor=1.2, or leave it out (1.0 is assumed).",
            status=422,
            code="OQ-SCORE-004",
            details=[
                {"message": "scalingFactor must be a positive number", "path": "scalingFactor"}
            ],
        )
    return value


def _unwrap(body: bytes) -> bytes:
    """CMS's example input is written ``{"data": {"submission": {...}}}``: take the submission."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    if isinstance(document, dict):
        inner: Any = document
        if isinstance(inner.get("data"), dict) and set(inner) == {"data"}:
            inner = inner["data"]
        if isinstance(inner.get("submission"), dict) and set(inner) == {"submission"}:
            return json.dumps(inner["submission"]).encode("utf-8")
    return body


def read_submission(
    body: bytes, *, content_type: str | None, settings: Settings | None = None
) -> tuple[Submission, list[str]]:
    """The submission in a request body, validated as an upload is; 422 with every finding."""
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    xml = bool(content_type and "xml" in content_type.lower()) or head.startswith(b"<")
    name = "request-body.xml" if xml else "request-body.json"
    result = validate_bytes(name, body if xml else _unwrap(body), settings=settings)
    if not result.ok or result.submission is None:
        errors = [f for f in result.findings if f.is_error] or list(result.findings)
        raise ScoreRequestError(
            f"The submission is not valid: {len(errors)} error(s) were found; nothing was scored "
            "or stored.",
            fix="Correct every error listed in details (each names its path) and send it again.",
            status=422,
            code="OQ-SCORE-001",
            details=[submissions_api.detail(f, submissions_api.WHOLE) for f in errors],
        )
    warnings = [f"{f.location.path or '$'}: {f.message}" for f in result.findings if not f.is_error]
    return result.submission, warnings


def _check_program(program: str | None) -> None:
    if program is None or program.strip().lower() in ("", PROGRAM_MIPS):
        return
    raise ScoreRequestError(
        f"openqpp scores traditional MIPS measurement sets (program 'mips') only; "
        f"program {program!r} cannot be scored.",
        fix="Leave program out or send program=mips.",
        status=422,
        code="OQ-SCORE-003",
        details=[{"message": f"program {program!r} is not scored", "path": "program"}],
    )


def _entity(submission: Submission) -> tuple[str, str | None] | None:
    if submission.entity_type is EntityType.GROUP and submission.tin:
        return submission.tin, None
    if submission.entity_type is EntityType.INDIVIDUAL and submission.tin and submission.npi:
        return submission.tin, submission.npi
    return None


def preview_score(
    session: Session,
    *,
    principal: Principal,
    body: bytes,
    content_type: str | None,
    scaling_factor: Decimal | None = None,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """``POST /submissions/score-preview``: score the body's submission; nothing is stored."""
    now = now or utcnow()
    submission, warnings = read_submission(body, content_type=content_type, settings=settings)
    year = submission.performance_year
    entity = _entity(submission)
    scoring: Scoring | None = None
    if entity is not None:
        try:
            scoring = prepare(
                session,
                principal=principal,
                year=year,
                tin=entity[0],
                npi=entity[1],
                now=now,
                scaling_factor=scaling_factor,
            )
        except AccessError:
            scoring = None
    if scoring is not None:
        score = score_of(scoring, submission, now=now)
        document = score_document(score)
        metadata = document["score"]["metadata"]
        metadata["submissionId"] = None
        metadata["preview"] = True
        document["score"]["warnings"].extend(warnings)
        return document
    policy, measures = year_rules(year)
    context = ScoringContext(entity_type=submission.entity_type, scaling_factor=scaling_factor)
    tree = score_submission(submission, policy=policy, measures=measures, context=context)
    notes = [
        *warnings,
        "Scored with the default context (no special statuses, APM participation, exceptions or "
        "cost results): you may not see preliminary scores for this entity, or it is not a "
        "group or clinician openqpp holds a determination for.",
    ]
    return {
        "score": cms_score(
            tree,
            metadata={
                "performanceYear": year,
                "policyYear": policy.year,
                "policyVerified": policy.is_verified("scoring"),
                "measuresData": measures.source,
                "measuresYear": measures.year,
                "submissionId": None,
                "preview": True,
                "scope": "request",
                "paymentAdjustment": payment_metadata(
                    tree,
                    reason="openqpp does not know this entity's eligibility and election here.",
                ),
            },
            warnings=notes,
        )
    }


def stored_score(
    session: Session,
    *,
    principal: Principal,
    submission_id: str,
    program: str | None = None,
    scaling_factor: Decimal | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """``GET /submissions/{id}/score``: the stored submission's score as the caller may see it."""
    now = now or utcnow()
    _check_program(program)
    row = session.get(SubmissionRow, submission_id)
    if row is None:
        raise _not_found(submission_id)
    try:
        visible = store.visible_sets(session, principal=principal, row=row, now=now)
    except NotFound:
        raise _not_found(submission_id) from None
    entity = _entity(visible.submission)
    year = row.performance_year
    if entity is None:
        return _collective_score(session, principal, visible, now, scaling_factor)
    scoring = prepare(
        session,
        principal=principal,
        year=year,
        tin=entity[0],
        npi=entity[1],
        now=now,
        scaling_factor=scaling_factor,
    )
    return score_document(score_of(scoring, scoring.submission, now=now))


def _collective_score(
    session: Session,
    principal: Principal,
    visible: store.Visible,
    now: dt.datetime,
    scaling_factor: Decimal | None,
) -> dict[str, Any]:
    """An APM entity, virtual group or subgroup submission: scored on what the caller sees,
    with the default context (openqpp builds entity facts for groups and clinicians only)."""
    if principal.kind != "operator":
        store.acting_for(
            session,
            principal=principal,
            submission=visible.submission,
            action=Action.VIEW_PRELIMINARY_SCORES,
            now=now,
        )
    submission = visible.submission
    policy, measures = year_rules(submission.performance_year)
    context = ScoringContext(entity_type=submission.entity_type, scaling_factor=scaling_factor)
    tree = score_submission(submission, policy=policy, measures=measures, context=context)
    return {
        "score": cms_score(
            tree,
            metadata={
                "performanceYear": submission.performance_year,
                "policyYear": policy.year,
                "policyVerified": policy.is_verified("scoring"),
                "measuresData": measures.source,
                "measuresYear": measures.year,
                "submissionId": visible.row.id,
                "scope": "all" if visible.every_submitter else "own_submissions",
                "paymentAdjustment": payment_metadata(
                    tree,
                    reason="openqpp does not know this entity's eligibility and election here.",
                ),
            },
            warnings=[
                "Scored with the default context: openqpp builds special statuses and APM "
                "facts for groups and clinicians only."
            ],
        )
    }


def _not_found(submission_id: str) -> ScoreRequestError:
    exc = store.not_found("submission", submission_id)
    return ScoreRequestError(exc.message, fix=exc.fix, status=404, code="OQ-SCORE-404")
