"""Recording a determination run: aggregates from the batch engines -> core decisions -> rows.

The batch layer computes `entity_volumes` and reads the reference tables (docs/batch-contract.md);
this service decides every entity with :mod:`openqpp.core.eligibility`, writes the results to
Parquet when asked, and loads them into the database as one new run, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, Table, func, insert, select, text
from sqlalchemy.orm import Session

from openqpp.core.eligibility import (
    ClinicianFacts,
    EligibilityResult,
    Level,
    Rules,
    SegmentVolume,
    determine_apm_entity,
    determine_group,
    determine_individual,
    determine_virtual_group,
)
from openqpp.db.base import Base
from openqpp.db.models import (
    DeterminationRun,
    EligibilityResultRow,
    RunApmParticipant,
    RunClinician,
    RunVirtualGroupMember,
)
from openqpp.policy import Policy
from openqpp.services.eligibility_lookup import NoDeterminationRun, find_run

Progress = Callable[[str, int, int], None]
"""(stage, done, total) callback for progress displays."""

INSERT_BATCH = 5_000

RESULT_SCHEMA = pa.schema(
    [
        ("level", pa.string()),
        ("entity_key", pa.string()),
        ("tin", pa.string()),
        ("npi", pa.string()),
        ("status", pa.string()),
        ("exceeded", pa.string()),
        ("special_statuses", pa.string()),
        ("reason_codes", pa.string()),
        ("reasons", pa.string()),
        ("s1_allowed_charges", pa.decimal128(18, 2)),
        ("s1_beneficiaries", pa.int64()),
        ("s1_covered_services", pa.int64()),
        ("s2_allowed_charges", pa.decimal128(18, 2)),
        ("s2_beneficiaries", pa.int64()),
        ("s2_covered_services", pa.int64()),
        ("unverified_parameters", pa.string()),
    ]
)


@dataclass(frozen=True, slots=True)
class ReferenceTables:
    """The small input tables, as read by the batch layer (any may be empty)."""

    clinicians: pa.Table
    qp_status: pa.Table
    practice_locations: pa.Table
    apm_participation: pa.Table
    virtual_groups: pa.Table
    facility_scores: pa.Table


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: int
    performance_year: int
    run_number: int
    counts: dict[str, int]
    status_counts: dict[str, dict[str, int]]
    unverified_parameters: tuple[str, ...]
    results_file: Path | None = None


@dataclass
class _Facts:
    clinicians: dict[str, ClinicianFacts] = field(default_factory=dict)
    names: dict[str, tuple[str | None, str | None, str | None, str | None]] = field(
        default_factory=dict
    )
    rural_tins: set[str] = field(default_factory=set)
    hpsa_tins: set[str] = field(default_factory=set)
    rural_clinicians: set[tuple[str, str]] = field(default_factory=set)
    """(TIN, NPI) pairs whose own location is rural."""
    hpsa_clinicians: set[tuple[str, str]] = field(default_factory=set)


def _rows(table: pa.Table) -> Iterator[dict[str, Any]]:
    for batch in table.to_batches(max_chunksize=50_000):
        yield from batch.to_pylist()


def _clinician_facts(refs: ReferenceTables) -> _Facts:
    qp = {r["npi"]: r["qp_status"] for r in _rows(refs.qp_status)}
    facts = _Facts()
    for loc in _rows(refs.practice_locations):
        if loc.get("npi"):
            if loc.get("rural"):
                facts.rural_clinicians.add((loc["tin"], loc["npi"]))
            if loc.get("hpsa"):
                facts.hpsa_clinicians.add((loc["tin"], loc["npi"]))
        else:
            if loc.get("rural"):
                facts.rural_tins.add(loc["tin"])
            if loc.get("hpsa"):
                facts.hpsa_tins.add(loc["tin"])
    for row in _rows(refs.clinicians):
        npi = row["npi"]
        facts.clinicians[npi] = ClinicianFacts(
            npi=npi,
            clinician_type=row["clinician_type"],
            first_enrolled=row["first_enrolled"],
            qp_status=qp.get(npi) or "N",
        )
        facts.names[npi] = (
            row.get("first_name"),
            row.get("last_name"),
            row.get("clinician_type"),
            row.get("specialty_code"),
        )
    return facts


def _at_tin(facts: _Facts, clinician: ClinicianFacts | None, tin: str) -> ClinicianFacts | None:
    """The clinician's facts with the rural/HPSA flags of their locations at this TIN."""
    if clinician is None:
        return None
    rural = tin in facts.rural_tins or (tin, clinician.npi) in facts.rural_clinicians
    hpsa = tin in facts.hpsa_tins or (tin, clinician.npi) in facts.hpsa_clinicians
    if not rural and not hpsa:
        return clinician
    return ClinicianFacts(
        npi=clinician.npi,
        clinician_type=clinician.clinician_type,
        first_enrolled=clinician.first_enrolled,
        qp_status=clinician.qp_status,
        rural=rural,
        hpsa=hpsa,
    )


def _volumes_by_entity(
    volumes: pa.Table,
) -> dict[str, dict[str, dict[int, SegmentVolume]]]:
    """level -> entity_key -> segment -> volume."""
    out: dict[str, dict[str, dict[int, SegmentVolume]]] = defaultdict(lambda: defaultdict(dict))
    for row in _rows(volumes):
        volume = SegmentVolume.from_row(row)
        out[row["level"]][row["entity_key"]][volume.segment] = volume
    return out


VolumesByEntity = Mapping[str, Mapping[str, Mapping[int, SegmentVolume]]]


def decide(
    policy: Policy,
    by_level: VolumesByEntity,
    refs: ReferenceTables,
    *,
    progress: Progress | None = None,
) -> tuple[list[EligibilityResult], _Facts]:
    """Every entity's result for the run: individuals, then groups, virtual groups, APM
    entities (which reuse the individual results)."""
    rules = Rules.for_policy(policy)
    facts = _clinician_facts(refs)
    group_counts: dict[str, dict[int, int]] = {
        tin: {s: v.clinicians for s, v in segs.items()}
        for tin, segs in by_level.get(Level.GROUP.value, {}).items()
    }
    results: list[EligibilityResult] = []
    individuals = by_level.get(Level.INDIVIDUAL.value, {})
    by_tin: dict[str, list[EligibilityResult]] = defaultdict(list)
    by_key: dict[str, EligibilityResult] = {}
    total = len(individuals)
    for done, (key, segs) in enumerate(individuals.items(), start=1):
        tin, _, npi = key.partition("/")
        result = determine_individual(
            policy=rules,
            tin=tin,
            npi=npi,
            volumes=segs,
            clinician=_at_tin(facts, facts.clinicians.get(npi), tin),
            tin_clinicians=group_counts.get(tin, 1),
        )
        results.append(result)
        by_tin[tin].append(result)
        by_key[key] = result
        if progress is not None and (done % 50_000 == 0 or done == total):
            progress("decide individuals", done, total)
    groups = by_level.get(Level.GROUP.value, {})
    for tin, segs in groups.items():
        results.append(
            determine_group(policy=rules, tin=tin, volumes=segs, individual_results=by_tin[tin])
        )
    if progress is not None:
        progress("decide groups", len(groups), len(groups))
    vg_tins: dict[str, list[str]] = defaultdict(list)
    for row in _rows(refs.virtual_groups):
        vg_tins[row["virtual_group_id"]].append(row["tin"])
    for vg_id, segs in by_level.get(Level.VIRTUAL_GROUP.value, {}).items():
        members = [r for tin in vg_tins.get(vg_id, []) for r in by_tin.get(tin, [])]
        results.append(
            determine_virtual_group(
                policy=rules, virtual_group_id=vg_id, volumes=segs, individual_results=members
            )
        )
    apm_members: dict[str, set[str]] = defaultdict(set)
    for row in _rows(refs.apm_participation):
        apm_members[row["apm_entity_id"]].add(f"{row['tin']}/{row['npi']}")
    apm_volumes = by_level.get(Level.APM_ENTITY.value, {})
    for apm_id in sorted(set(apm_members) | set(apm_volumes)):
        participants = [by_key[k] for k in sorted(apm_members.get(apm_id, ())) if k in by_key]
        results.append(
            determine_apm_entity(
                policy=rules,
                apm_entity_id=apm_id,
                volumes=apm_volumes.get(apm_id, {}),
                participants=participants,
            )
        )
    if progress is not None:
        progress("decide virtual groups and APM entities", len(results), len(results))
    return results, facts


def _volume_columns(volumes: Mapping[int, SegmentVolume] | None) -> dict[str, Any]:
    """The per-segment volume columns of a result row (None where the segment has no claims)."""
    row: dict[str, Any] = {"clinicians": None}
    for segment in (1, 2):
        volume = (volumes or {}).get(segment)
        prefix = f"s{segment}_"
        row[prefix + "allowed_charges"] = volume.allowed_charges if volume else None
        row[prefix + "beneficiaries"] = volume.beneficiaries if volume else None
        row[prefix + "covered_services"] = volume.covered_services if volume else None
        row[prefix + "patient_facing"] = volume.patient_facing_encounters if volume else None
    if volumes:
        row["clinicians"] = max(v.clinicians for v in volumes.values())
    return row


def result_row(
    result: EligibilityResult, run_id: int, volumes: Mapping[int, SegmentVolume] | None
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "level": result.level.value,
        "entity_key": result.entity_key,
        "tin": result.tin,
        "npi": result.npi,
        "status": result.status.value,
        **_volume_columns(volumes),
        "exceeded": ",".join(c.value for c in result.exceeded),
        "special_statuses": ",".join(
            f"{g.status.value}:{g.segment}" for g in result.special_statuses
        ),
        "reasons": [r.as_record() for r in result.reasons],
    }


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _batched(rows: Iterable[dict[str, Any]], size: int = INSERT_BATCH) -> Iterator[list[Any]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def fingerprint(paths: Iterable[Path]) -> str:
    """A stable fingerprint of the inputs: names, sizes and modification times of the files."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}\n".encode())
    return digest.hexdigest()


_ROW_COLUMNS = tuple(name for name in RESULT_SCHEMA.names if not name.startswith(("reason", "unv")))
"""Parquet columns copied from the database row (the reasons are written as their texts)."""


def _append_result(
    columns: dict[str, list[Any]], result: EligibilityResult, row: Mapping[str, Any]
) -> None:
    """One entity's line of the results Parquet, from its database row and its result."""
    import json

    for name in _ROW_COLUMNS:
        columns[name].append(row[name])
    columns["reason_codes"].append(",".join(r.code for r in result.reasons))
    columns["reasons"].append(json.dumps([r.text for r in result.reasons]))
    columns["unverified_parameters"].append(",".join(result.unverified_parameters))


def record_run(
    session: Session,
    *,
    policy: Policy,
    volumes: pa.Table,
    refs: ReferenceTables,
    engine: str,
    source: str,
    input_fingerprint: str,
    created_by: str | None = None,
    results_file: str | Path | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Decide every entity and store the run in ``session``'s transaction (all or nothing).

    ``results_file`` (optional) receives the results as Parquet; ``{year}`` and ``{run}`` in it
    are replaced by the performance year and the new run number.
    """
    by_level = _volumes_by_entity(volumes)
    results, facts = decide(policy, by_level, refs, progress=progress)
    year = policy.year
    last = session.scalar(
        select(func.max(DeterminationRun.run_number)).where(
            DeterminationRun.performance_year == year
        )
    )
    counts: dict[str, int] = defaultdict(int)
    status_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    unverified: set[str] = set()
    for result in results:
        counts[result.level.value] += 1
        status_counts[result.level.value][result.status.value] += 1
        unverified.update(result.unverified_parameters)
    run = DeterminationRun(
        performance_year=year,
        run_number=(last or 0) + 1,
        engine=engine,
        source=source,
        input_fingerprint=input_fingerprint,
        policy_unverified=sorted(unverified),
        counts=dict(counts),
        created_at=dt.datetime.now(dt.UTC),
        created_by=created_by,
    )
    session.add(run)
    session.flush()
    # Core executemany: the ORM's per-row bookkeeping is not needed for millions of plain rows.
    connection = session.connection()
    written = None
    columns: dict[str, list[Any]] | None = None
    if results_file is not None:
        written = Path(str(results_file).format(year=year, run=run.run_number))
        columns = {name: [] for name in RESULT_SCHEMA.names}

    def rows() -> Iterator[dict[str, Any]]:
        """Each result's database row, built once for the database and the Parquet file."""
        for result in results:
            row = result_row(
                result, run.id, by_level.get(result.level.value, {}).get(result.entity_key)
            )
            if columns is not None:
                _append_result(columns, result, row)
            yield row

    done = 0
    for batch in _batched(rows()):
        connection.execute(insert(_table(EligibilityResultRow)), batch)
        done += len(batch)
        if progress is not None:
            progress("store results", done, len(results))
    if written is not None and columns is not None:
        written.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns, schema=RESULT_SCHEMA), written)
    clinician_rows = (
        {
            "run_id": run.id,
            "npi": npi,
            "first_name": names[0],
            "last_name": names[1],
            "clinician_type": names[2],
            "specialty_code": names[3],
            "first_enrolled": facts.clinicians[npi].first_enrolled,
            "qp_status": facts.clinicians[npi].qp_status,
        }
        for npi, names in facts.names.items()
    )
    for batch in _batched(clinician_rows):
        connection.execute(insert(_table(RunClinician)), batch)
    seen: set[tuple[str, str, str]] = set()
    apm_rows = []
    for row in _rows(refs.apm_participation):
        key = (row["apm_entity_id"], row["tin"], row["npi"])
        if key in seen:
            continue
        seen.add(key)
        apm_rows.append(
            {
                "run_id": run.id,
                "apm_entity_id": row["apm_entity_id"],
                "tin": row["tin"],
                "npi": row["npi"],
                "apm_model": row["apm_model"],
                "mips_apm": bool(row["mips_apm"]),
                "advanced_apm": bool(row["advanced_apm"]),
            }
        )
    for batch in _batched(apm_rows):
        connection.execute(insert(_table(RunApmParticipant)), batch)
    vg_rows = list(
        {
            (r["virtual_group_id"], r["tin"]): {
                "run_id": run.id,
                "virtual_group_id": r["virtual_group_id"],
                "tin": r["tin"],
            }
            for r in _rows(refs.virtual_groups)
        }.values()
    )
    for batch in _batched(vg_rows):
        connection.execute(insert(_table(RunVirtualGroupMember)), batch)
    _refresh_statistics(connection)
    return RunSummary(
        run_id=run.id,
        performance_year=year,
        run_number=run.run_number,
        counts=dict(counts),
        status_counts={k: dict(v) for k, v in status_counts.items()},
        unverified_parameters=tuple(sorted(unverified)),
        results_file=written,
    )


RUN_TABLES = (EligibilityResultRow, RunClinician, RunApmParticipant, RunVirtualGroupMember)


def _refresh_statistics(connection: Connection) -> None:
    """PostgreSQL: the planner's statistics of the run tables, at once. A run adds millions of
    rows; until autovacuum gets to them the planner estimates from the empty tables and can
    read every group of the run for one NPI lookup (5 ms instead of 0.4 ms on a fresh
    database). ANALYZE samples a fixed number of rows (seconds at national size) and, inside
    the run's transaction, counts its new rows and commits with it. SQLite's planner needs no
    statistics for these indexed lookups (its ANALYZE would read the whole file)."""
    if connection.dialect.name == "postgresql":
        names = ", ".join(model.__tablename__ for model in RUN_TABLES)
        connection.execute(text(f"ANALYZE {names}"))


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: int
    performance_year: int
    run_number: int
    engine: str
    source: str
    created_at: dt.datetime
    counts: dict[str, int]


def list_runs(session: Session) -> list[RunInfo]:
    return [
        RunInfo(r.id, r.performance_year, r.run_number, r.engine, r.source, r.created_at, r.counts)
        for r in session.scalars(
            select(DeterminationRun).order_by(
                DeterminationRun.performance_year, DeterminationRun.run_number
            )
        )
    ]


@dataclass(frozen=True, slots=True)
class Change:
    level: str
    entity_key: str
    before: str | None
    after: str | None
    exceeded_before: str
    exceeded_after: str


def _resolve_run(session: Session, ref: str) -> DeterminationRun:
    """A run by database id (`12`) or by `YEAR:RUN` (`2022:3`)."""
    year, sep, number = ref.strip().partition(":")
    if sep and year.isdigit() and number.isdigit():
        return find_run(session, int(year), int(number))
    run = session.get(DeterminationRun, int(ref)) if not sep and ref.strip().isdigit() else None
    if run is None:
        raise NoDeterminationRun(
            f"There is no determination run {ref!r}.",
            fix="Name a run by its id or as YEAR:RUN (see `openqpp eligibility runs`).",
        )
    return run


def diff_runs(session: Session, run_a: str, run_b: str) -> tuple[str, str, list[Change]]:
    """Entities whose status or exceeded criteria differ between two runs (added/removed too)."""
    a, b = _resolve_run(session, run_a), _resolve_run(session, run_b)

    def load(run: DeterminationRun) -> dict[tuple[str, str], tuple[str, str]]:
        return {
            (level, key): (status, exceeded)
            for level, key, status, exceeded in session.execute(
                select(
                    EligibilityResultRow.level,
                    EligibilityResultRow.entity_key,
                    EligibilityResultRow.status,
                    EligibilityResultRow.exceeded,
                ).where(EligibilityResultRow.run_id == run.id)
            )
        }

    before, after = load(a), load(b)
    changes = []
    for key in sorted(set(before) | set(after)):
        x, y = before.get(key), after.get(key)
        if x == y:
            continue
        changes.append(
            Change(
                level=key[0],
                entity_key=key[1],
                before=x[0] if x else None,
                after=y[0] if y else None,
                exceeded_before=x[1] if x else "",
                exceeded_after=y[1] if y else "",
            )
        )
    label = f"{a.performance_year}:{a.run_number}", f"{b.performance_year}:{b.run_number}"
    return label[0], label[1], changes
