"""MIPS eligibility: who is MIPS eligible, opt-in eligible or exempt, why, and which special
statuses they hold, per performance year and determination period segment.

Pure rules (no I/O) over the `entity_volumes` aggregate of docs/batch-contract.md; every number
comes from the year's :class:`~openqpp.policy.Policy` (mips-rules.md §2 has the sources).

* :func:`low_volume_status`: the low-volume threshold in one segment.
* :func:`combine_segments`: the segments combined (exceed in both; a TIN or TIN/NPI first seen
  in segment 2 is judged on segment 2 alone; otherwise the lower status counts).
* :func:`determine_individual`, :func:`determine_group`, :func:`determine_virtual_group`,
  :func:`determine_apm_entity`: one entity's :class:`EligibilityResult`.
"""

from openqpp.core.eligibility.determine import (
    clinician_exclusions,
    determine_apm_entity,
    determine_group,
    determine_individual,
    determine_virtual_group,
)
from openqpp.core.eligibility.model import (
    ClinicianFacts,
    Criterion,
    CriterionCheck,
    Level,
    LowVolumeResult,
    QpStatus,
    ReasonCode,
    SegmentVolume,
    SpecialStatus,
    Status,
)
from openqpp.core.eligibility.reasons import Reason
from openqpp.core.eligibility.results import EligibilityResult, SpecialStatusGrant
from openqpp.core.eligibility.rules import (
    CombinedLowVolume,
    Param,
    Rules,
    combine_segments,
    low_volume_status,
)

__all__ = [
    "ClinicianFacts",
    "CombinedLowVolume",
    "Criterion",
    "CriterionCheck",
    "EligibilityResult",
    "Level",
    "LowVolumeResult",
    "Param",
    "QpStatus",
    "Reason",
    "ReasonCode",
    "Rules",
    "SegmentVolume",
    "SpecialStatus",
    "SpecialStatusGrant",
    "Status",
    "clinician_exclusions",
    "combine_segments",
    "determine_apm_entity",
    "determine_group",
    "determine_individual",
    "determine_virtual_group",
    "low_volume_status",
]
