"""The ``entity_volumes`` aggregate, written once as SQL for DuckDB and Spark SQL alike.

The text below is the whole computation. It reads the typed input views ``claim_lines``,
``apm_participation`` and ``virtual_groups`` (see :func:`openqpp.batch.inputs.typed_select`) and
runs as named stages; an engine materialises each stage under its name (a DuckDB temporary
table, a persisted Spark view) so that later stages reuse it instead of scanning the claims
again. Only the placeholders ``{...}`` change between years, and they are filled from policy:
segment dates, claims run-out cut-offs, the places of service of the hospital-, ASC- and
facility-based statuses, and the performance year's APM snapshot dates.

The dialect is the common subset of DuckDB and Spark SQL: ``DATE 'YYYY-MM-DD'`` literals,
``CAST`` to ``STRING``/``INT``/``BIGINT``/``DECIMAL(18,2)``/``DATE``, ``CASE``, ``COUNT``,
``SUM``, ``MIN``, ``MAX``, ``COUNT(DISTINCT ...)``, ``concat``, joins ``USING`` and
``UNION ALL``. Every output column is cast explicitly so both engines return the same types.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import pyarrow as pa

from openqpp.policy import Policy
from openqpp.policy.model import Segment

# ------------------------------------------------------------------ the SQL text

MEASURES: Final = """
    CAST(COALESCE(SUM(CASE WHEN covered_professional_service THEN allowed_amount END), 0)
         AS DECIMAL(18,2)) AS allowed_charges,
    COUNT(CASE WHEN covered_professional_service THEN 1 END) AS covered_services,
    COUNT(CASE WHEN patient_facing THEN 1 END) AS patient_facing_encounters,
    COUNT(*) AS lines,
    COUNT(CASE WHEN covered_professional_service AND place_of_service IN ({hospital_places})
               THEN 1 END) AS hospital_lines,
    COUNT(CASE WHEN covered_professional_service AND place_of_service IN ({asc_places})
               THEN 1 END) AS asc_lines,
    COUNT(CASE WHEN covered_professional_service AND place_of_service IN ({facility_places})
               THEN 1 END) AS facility_lines,
    MIN(CASE WHEN covered_professional_service THEN date_of_service END) AS first_service_date,
    MAX(CASE WHEN covered_professional_service THEN date_of_service END) AS last_service_date"""

ROLLUP: Final = """
    CAST(SUM(v.allowed_charges) AS DECIMAL(18,2)) AS allowed_charges,
    CAST(SUM(v.covered_services) AS BIGINT) AS covered_services,
    CAST(SUM(v.patient_facing_encounters) AS BIGINT) AS patient_facing_encounters,
    CAST(SUM(v.lines) AS BIGINT) AS lines,
    CAST(SUM(v.hospital_lines) AS BIGINT) AS hospital_lines,
    CAST(SUM(v.asc_lines) AS BIGINT) AS asc_lines,
    CAST(SUM(v.facility_lines) AS BIGINT) AS facility_lines,
    COUNT(DISTINCT v.npi) AS clinicians,
    MIN(v.first_service_date) AS first_service_date,
    MAX(v.last_service_date) AS last_service_date"""

OUTPUT_COLUMNS: Final = """
    CAST(v.allowed_charges AS DECIMAL(18,2)) AS allowed_charges,
    CAST(COALESCE(b.beneficiaries, 0) AS BIGINT) AS beneficiaries,
    CAST(v.covered_services AS BIGINT) AS covered_services,
    CAST(v.patient_facing_encounters AS BIGINT) AS patient_facing_encounters,
    CAST(v.lines AS BIGINT) AS lines,
    CAST(v.hospital_lines AS BIGINT) AS hospital_lines,
    CAST(v.asc_lines AS BIGINT) AS asc_lines,
    CAST(v.facility_lines AS BIGINT) AS facility_lines,
    CAST(v.clinicians AS BIGINT) AS clinicians,
    CAST(v.first_service_date AS DATE) AS first_service_date,
    CAST(v.last_service_date AS DATE) AS last_service_date"""

STAGES: Final[tuple[tuple[str, str], ...]] = (
    (
        # One row per (segment, TIN, NPI): every measure except distinct beneficiaries.
        # A line counts toward segment s when its date of service is in s and it was
        # processed by the end of s plus the run-out ({segment_of_line} is NULL otherwise).
        "individual_volumes",
        """
SELECT segment, tin, npi, {measures}
FROM (
    SELECT CAST({segment_of_line} AS INT) AS segment, tin, npi, allowed_amount, place_of_service,
           covered_professional_service, patient_facing, date_of_service
    FROM claim_lines
    WHERE date_of_service BETWEEN {period_start} AND {period_end}
) AS l
WHERE segment IS NOT NULL
GROUP BY segment, tin, npi
""",
    ),
    (
        # Who saw whom: one row per (segment, TIN, NPI, beneficiary) with a covered line.
        "patients",
        """
SELECT DISTINCT CAST({segment_of_line} AS INT) AS segment, tin, npi, beneficiary_id
FROM claim_lines
WHERE date_of_service BETWEEN {period_start} AND {period_end}
  AND covered_professional_service
  AND {segment_of_line} IS NOT NULL
""",
    ),
    (
        # APM participants: a TIN/NPI on any participation snapshot of the performance year.
        "apm_participants",
        """
SELECT DISTINCT apm_entity_id, tin, npi
FROM apm_participation
WHERE snapshot_date BETWEEN {year_start} AND {year_end}
""",
    ),
    (
        "virtual_group_members",
        """
SELECT DISTINCT virtual_group_id, tin
FROM virtual_groups
""",
    ),
    (
        # The four levels. Beneficiaries are counted distinct over the level's patients; a
        # clinician in two TINs of one APM entity or virtual group is one clinician.
        "entity_volumes",
        """
SELECT CAST(v.segment AS INT) AS segment, 'individual' AS level,
       concat(v.tin, '/', v.npi) AS entity_key,
       CAST(v.tin AS STRING) AS tin, CAST(v.npi AS STRING) AS npi, {output_columns}
FROM (SELECT i.*, CAST(1 AS BIGINT) AS clinicians FROM individual_volumes AS i) AS v
LEFT JOIN (
    SELECT segment, tin, npi, COUNT(*) AS beneficiaries
    FROM patients GROUP BY segment, tin, npi
) AS b ON b.segment = v.segment AND b.tin = v.tin AND b.npi = v.npi

UNION ALL

SELECT CAST(v.segment AS INT) AS segment, 'group' AS level, v.tin AS entity_key,
       CAST(v.tin AS STRING) AS tin, CAST(NULL AS STRING) AS npi, {output_columns}
FROM (
    SELECT v.segment, v.tin, {rollup}
    FROM individual_volumes AS v GROUP BY v.segment, v.tin
) AS v
LEFT JOIN (
    SELECT segment, tin, COUNT(DISTINCT beneficiary_id) AS beneficiaries
    FROM patients GROUP BY segment, tin
) AS b ON b.segment = v.segment AND b.tin = v.tin

UNION ALL

SELECT CAST(v.segment AS INT) AS segment, 'apm_entity' AS level, v.apm_entity_id AS entity_key,
       CAST(NULL AS STRING) AS tin, CAST(NULL AS STRING) AS npi, {output_columns}
FROM (
    SELECT v.segment, a.apm_entity_id, {rollup}
    FROM individual_volumes AS v
    JOIN apm_participants AS a ON a.tin = v.tin AND a.npi = v.npi
    GROUP BY v.segment, a.apm_entity_id
) AS v
LEFT JOIN (
    SELECT p.segment, a.apm_entity_id, COUNT(DISTINCT p.beneficiary_id) AS beneficiaries
    FROM patients AS p
    JOIN apm_participants AS a ON a.tin = p.tin AND a.npi = p.npi
    GROUP BY p.segment, a.apm_entity_id
) AS b ON b.segment = v.segment AND b.apm_entity_id = v.apm_entity_id

UNION ALL

SELECT CAST(v.segment AS INT) AS segment, 'virtual_group' AS level,
       v.virtual_group_id AS entity_key,
       CAST(NULL AS STRING) AS tin, CAST(NULL AS STRING) AS npi, {output_columns}
FROM (
    SELECT v.segment, g.virtual_group_id, {rollup}
    FROM individual_volumes AS v
    JOIN virtual_group_members AS g ON g.tin = v.tin
    GROUP BY v.segment, g.virtual_group_id
) AS v
LEFT JOIN (
    SELECT p.segment, g.virtual_group_id, COUNT(DISTINCT p.beneficiary_id) AS beneficiaries
    FROM patients AS p
    JOIN virtual_group_members AS g ON g.tin = p.tin
    GROUP BY p.segment, g.virtual_group_id
) AS b ON b.segment = v.segment AND b.virtual_group_id = v.virtual_group_id
""",
    ),
)
"""(stage name, SQL template) in order; the last stage is the result."""

RESULT: Final = STAGES[-1][0]

OUTPUT_SCHEMA: Final = pa.schema(
    [
        pa.field("segment", pa.int32(), nullable=False),
        pa.field("level", pa.string(), nullable=False),
        pa.field("entity_key", pa.string(), nullable=False),
        pa.field("tin", pa.string()),
        pa.field("npi", pa.string()),
        pa.field("allowed_charges", pa.decimal128(18, 2), nullable=False),
        pa.field("beneficiaries", pa.int64(), nullable=False),
        pa.field("covered_services", pa.int64(), nullable=False),
        pa.field("patient_facing_encounters", pa.int64(), nullable=False),
        pa.field("lines", pa.int64(), nullable=False),
        pa.field("hospital_lines", pa.int64(), nullable=False),
        pa.field("asc_lines", pa.int64(), nullable=False),
        pa.field("facility_lines", pa.int64(), nullable=False),
        pa.field("clinicians", pa.int64(), nullable=False),
        pa.field("first_service_date", pa.date32()),
        pa.field("last_service_date", pa.date32()),
    ]
)
"""The ``entity_volumes`` table of docs/batch-contract.md, as both engines return it."""

SORT_KEYS: Final = [("segment", "ascending"), ("level", "ascending"), ("entity_key", "ascending")]


# ------------------------------------------------------------------ parameters from policy


def _date(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


def _codes(codes: tuple[str, ...]) -> str:
    if not codes:
        return "NULL"  # IN (NULL) matches nothing
    return ", ".join("'" + c.replace("'", "''") + "'" for c in codes)


def cutoff(segment: Segment) -> dt.date:
    """The last processed date counted for a segment: its end plus the claims run-out."""
    return segment.end + dt.timedelta(days=segment.claims_run_out_days)


def segment_of_line(segments: tuple[Segment, ...]) -> str:
    """``CASE`` giving the segment a line counts toward, NULL when it counts toward none."""
    branches = " ".join(
        f"WHEN date_of_service BETWEEN {_date(s.start)} AND {_date(s.end)} "
        f"AND processed_date <= {_date(cutoff(s))} THEN {int(s.number)}"
        for s in segments
    )
    return f"(CASE {branches} END)"


@dataclass(frozen=True, slots=True)
class Plan:
    """The stages for one performance year, placeholders filled from its policy."""

    year: int
    stages: tuple[tuple[str, str], ...]

    @property
    def result(self) -> str:
        return self.stages[-1][0]


def parameters(policy: Policy) -> dict[str, str]:
    """The placeholder values for ``policy``'s year."""
    eligibility = policy.eligibility
    segments = eligibility.determination_period.segments
    status = eligibility.special_status
    return {
        "segment_of_line": segment_of_line(segments),
        "period_start": _date(min(s.start for s in segments)),
        "period_end": _date(max(s.end for s in segments)),
        "hospital_places": _codes(status.hospital_based.places_of_service),
        "asc_places": _codes(status.asc_based.places_of_service),
        "facility_places": _codes(status.facility_based.places_of_service),
        "year_start": _date(dt.date(policy.year, 1, 1)),
        "year_end": _date(dt.date(policy.year, 12, 31)),
    }


FRAGMENTS: Final = {"measures": MEASURES, "rollup": ROLLUP, "output_columns": OUTPUT_COLUMNS}
"""Column lists shared by several stages (``{measures}``, ``{rollup}``, ``{output_columns}``)."""


def render(template: str, values: dict[str, str]) -> str:
    """``template`` with its fragments, then its ``{placeholders}``, filled in."""
    text = template
    for source in (FRAGMENTS, values):
        for key, value in source.items():
            text = text.replace("{" + key + "}", value.strip())
    if "{" in text:
        raise ValueError(f"unfilled placeholder in batch SQL: {text[text.index('{') :][:40]}")
    return text.strip()


def plan(policy: Policy) -> Plan:
    """The SQL of every stage for ``policy``'s performance year."""
    values = parameters(policy)
    return Plan(
        year=policy.year,
        stages=tuple((name, render(template, values)) for name, template in STAGES),
    )


def conform(table: pa.Table) -> pa.Table:
    """An engine's result in :data:`OUTPUT_SCHEMA`, sorted by segment, level and entity key."""
    columns = [table.column(f.name).cast(f.type) for f in OUTPUT_SCHEMA]
    arranged = pa.Table.from_arrays(columns, schema=OUTPUT_SCHEMA)
    return arranged.sort_by(SORT_KEYS)
