"""Use case: the preliminary score of a submission file (QPP JSON or QRDA III).

The file is read and validated exactly as ``openqpp submissions validate`` does; an invalid file
raises :class:`InvalidSubmissionFile` with the findings. A valid one is scored with the year's
policy and measures data and a default scoring context built from the submission's entity type
(no special statuses, exceptions, cost results or prior-year scores: a practice's own facts come
from the database once the submission is stored). Nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from openqpp.core.errors import Finding
from openqpp.core.scoring.context import ScoringContext
from openqpp.core.scoring.engine import score_submission
from openqpp.core.scoring.tree import ScoreNode
from openqpp.core.submissions import Submission
from openqpp.policy import load_policy
from openqpp.services.submissions_convert import FileValidation, catalogue, validate_file
from openqpp.settings import Settings


class InvalidSubmissionFile(Exception):
    """The file cannot be scored: it does not parse or fails validation."""

    code = "OQ-SCORE-001"

    def __init__(self, validation: FileValidation) -> None:
        self.validation = validation
        super().__init__(
            f"{validation.path} is not a valid submission file: {len(validation.errors)} "
            "error(s). Fix them (openqpp submissions validate) and score again."
        )

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.validation.findings


def default_context(submission: Submission) -> ScoringContext:
    """The scoring context when nothing but the file is known."""
    return ScoringContext(entity_type=submission.entity_type)


def score_submission_for_year(
    submission: Submission,
    year: int,
    *,
    settings: Settings | None = None,
    context: ScoringContext | None = None,
) -> ScoreNode:
    """Score an already-read submission with `year`'s policy and measures data."""
    policy = load_policy(year)
    measures = catalogue(settings).year(year)
    return score_submission(
        submission,
        policy=policy,
        measures=measures,
        context=context or default_context(submission),
    )


def score_file(path: Path, year: int | None = None, settings: Settings | None = None) -> ScoreNode:
    """The preliminary score tree of one submission file.

    `year` defaults to the file's performance year. Raises :class:`InvalidSubmissionFile` when
    the file has validation errors, `UnsupportedPerformanceYear` for a year without policy and
    `MeasuresYearUnavailable` when the year's measures data is not installed."""
    validation = validate_file(path, settings=settings)
    if not validation.ok or validation.submission is None:
        raise InvalidSubmissionFile(validation)
    submission = validation.submission
    return score_submission_for_year(
        submission, year if year is not None else submission.performance_year, settings=settings
    )


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def tree_to_json(node: ScoreNode) -> dict[str, object]:
    """A score tree as JSON-native values (numbers as JSON numbers)."""
    out: dict[str, object] = {
        "name": node.name,
        "title": node.title,
        "rule": node.rule,
        "points": float(node.points),
        "maximum": None if node.maximum is None else float(node.maximum),
        "combine": node.combine.value,
        "explanation": node.explanation,
    }
    if node.weight is not None:
        out["weight"] = float(node.weight)
    if node.inputs:
        out["inputs"] = _plain(node.inputs)
    if node.unverified:
        out["unverified"] = list(node.unverified)
    if node.warnings:
        out["warnings"] = list(node.warnings)
    if node.children:
        out["children"] = [tree_to_json(c) for c in node.children]
    return out
