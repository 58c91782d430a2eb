"""Submissions: the canonical model every intake format produces, and its validation engine.

submission = Submission.from_qpp_json(parsed)
report = validate_submission(submission, measures=catalogue.year(2025), policy=load_policy(2025))
report.errors  # every problem, each with a stable code, a fix and a JSONPath
"""

from openqpp.core.submissions.model import (
    BASE_PROGRAMS,
    PROGRAM_APP,
    PROGRAM_APP_PLUS,
    PROGRAM_MIPS,
    Category,
    EntityType,
    Measurement,
    MeasurementSet,
    MeasurementValue,
    MultiPerformanceRate,
    NonProportion,
    PerformanceCounts,
    Proportion,
    SinglePerformanceRate,
    StratumPerformance,
    Submission,
    SubmissionMethod,
    value_shape,
)
from openqpp.core.submissions.qpp_json import SubmissionShapeError
from openqpp.core.submissions.validation import (
    RULES,
    ValidationReport,
    validate_submission,
)

__all__ = [
    "BASE_PROGRAMS",
    "PROGRAM_APP",
    "PROGRAM_APP_PLUS",
    "PROGRAM_MIPS",
    "RULES",
    "Category",
    "EntityType",
    "Measurement",
    "MeasurementSet",
    "MeasurementValue",
    "MultiPerformanceRate",
    "NonProportion",
    "PerformanceCounts",
    "Proportion",
    "SinglePerformanceRate",
    "StratumPerformance",
    "Submission",
    "SubmissionMethod",
    "SubmissionShapeError",
    "ValidationReport",
    "validate_submission",
    "value_shape",
]
