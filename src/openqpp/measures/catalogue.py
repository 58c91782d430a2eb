"""Find and load the CMS measures data pack, one performance year at a time.

A *data root* is a directory in the `qpp-measures-data` layout (an extracted npm package, a
checkout of the upstream repository, or a copy of its data files)::

    measures/<year>/measures-data.json                  required: makes the root provide <year>
    benchmarks/<year>.json                              optional
    benchmarks/<year>/benchmark-exclusion-reasons.json  optional (2023+)
    benchmarks/<year>/cost-national-averages.json       optional (2023-2025)
    clinical-clusters/<year>/clinical-clusters.json     optional
    mvp/<year>/mvp.json                                 optional (2023+)

`MeasuresCatalogue` searches its roots in order; the first root holding a year's
`measures-data.json` provides every file of that year, so one year never mixes roots.
A year is read once per catalogue and cached.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from openqpp.measures.errors import MeasuresDataError, MeasuresYearUnavailable
from openqpp.measures.models import (
    Benchmark,
    BenchmarkExclusionReason,
    ClinicalClusterRecord,
    CostMeasure,
    CostNationalAverage,
    ImprovementActivity,
    Measure,
    Mvp,
    PiMeasure,
    QualityMeasure,
)

_ModelT = TypeVar("_ModelT", bound=BaseModel)

#: Which model reads a measures-data.json record, by its `category`. 2017 calls PI `aci`.
#: Records of any other category are skipped, so a new upstream category does not break loading.
_MEASURE_MODELS: Mapping[
    str,
    type[QualityMeasure] | type[ImprovementActivity] | type[PiMeasure] | type[CostMeasure],
] = {
    "quality": QualityMeasure,
    "ia": ImprovementActivity,
    "pi": PiMeasure,
    "aci": PiMeasure,
    "cost": CostMeasure,
}


def _key(value: str) -> str:
    return value.casefold()


def roots_from_path_list(value: str | None) -> tuple[Path, ...]:
    """Split an `os.pathsep`-separated path list (e.g. `$OPENQPP_MEASURES_DATA`) into roots."""
    if not value:
        return ()
    return tuple(
        Path(part.strip()).expanduser() for part in value.split(os.pathsep) if part.strip()
    )


# --------------------------------------------------------------------------- files of a year


@dataclass(frozen=True, slots=True)
class YearFiles:
    """The files that make up one performance year in one root; `None` = not in that root."""

    measures: Path
    benchmarks: Path | None = None
    benchmark_exclusion_reasons: Path | None = None
    cost_national_averages: Path | None = None
    clinical_clusters: Path | None = None
    mvp: Path | None = None

    @staticmethod
    def measures_path(root: Path, year: int) -> Path:
        return root / "measures" / str(year) / "measures-data.json"

    @classmethod
    def in_root(cls, root: Path, year: int) -> YearFiles:
        def present(path: Path) -> Path | None:
            return path if path.is_file() else None

        y = str(year)
        return cls(
            measures=cls.measures_path(root, year),
            benchmarks=present(root / "benchmarks" / f"{y}.json"),
            benchmark_exclusion_reasons=present(
                root / "benchmarks" / y / "benchmark-exclusion-reasons.json"
            ),
            cost_national_averages=present(root / "benchmarks" / y / "cost-national-averages.json"),
            clinical_clusters=present(root / "clinical-clusters" / y / "clinical-clusters.json"),
            mvp=present(root / "mvp" / y / "mvp.json"),
        )


# --------------------------------------------------------------------------- one year


@dataclass(frozen=True, eq=False)
class MeasuresYear:
    """The measures catalogue of one performance year, read from one data root.

    Lookups by ID are case-insensitive and return `None` when the ID is not in the year.
    """

    year: int
    root: Path
    #: Where the data came from, e.g. `qpp-measures-data@5.5.4 (package.json)`.
    source: str
    files: YearFiles
    quality_measures: tuple[QualityMeasure, ...]
    improvement_activities: tuple[ImprovementActivity, ...]
    pi_measures: tuple[PiMeasure, ...]
    cost_measures: tuple[CostMeasure, ...]
    benchmarks: tuple[Benchmark, ...] = ()
    benchmark_exclusion_reasons: tuple[BenchmarkExclusionReason, ...] = ()
    cost_national_averages: tuple[CostNationalAverage, ...] = ()
    clinical_clusters: tuple[ClinicalClusterRecord, ...] = ()
    mvps: tuple[Mvp, ...] = ()

    _measures: Mapping[str, Measure] = field(init=False, repr=False)
    _quality_by_uuid: Mapping[str, QualityMeasure] = field(init=False, repr=False)
    _benchmarks: Mapping[tuple[str, str], Benchmark] = field(init=False, repr=False)
    _exclusions: Mapping[tuple[str, str], BenchmarkExclusionReason] = field(init=False, repr=False)
    _cost_averages: Mapping[str, CostNationalAverage] = field(init=False, repr=False)
    _clusters: Mapping[tuple[str, str], ClinicalClusterRecord] = field(init=False, repr=False)
    _mvps: Mapping[str, Mvp] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        measures: tuple[Measure, ...] = (
            *self.quality_measures,
            *self.improvement_activities,
            *self.pi_measures,
            *self.cost_measures,
        )
        indexes: dict[str, Mapping[Any, Any]] = {
            "_measures": {_key(m.measure_id): m for m in measures},
            "_quality_by_uuid": {
                _key(m.e_measure_uuid): m for m in self.quality_measures if m.e_measure_uuid
            },
            "_benchmarks": {
                (_key(b.measure_id), _key(b.submission_method)): b for b in self.benchmarks
            },
            "_exclusions": {
                (_key(r.measure_id), _key(r.submission_method)): r
                for r in self.benchmark_exclusion_reasons
            },
            "_cost_averages": {_key(c.measure_id): c for c in self.cost_national_averages},
            "_clusters": {
                (_key(c.measure_id), _key(c.submission_method)): c for c in self.clinical_clusters
            },
            "_mvps": {_key(m.mvp_id): m for m in self.mvps},
        }
        for name, index in indexes.items():
            object.__setattr__(self, name, index)

    # measures ------------------------------------------------------------------------

    def measure(self, measure_id: str) -> Measure | None:
        """The measure or activity of any category with this ID."""
        return self._measures.get(_key(measure_id))

    def quality(self, measure_id: str) -> QualityMeasure | None:
        found = self.measure(measure_id)
        return found if isinstance(found, QualityMeasure) else None

    def quality_by_uuid(self, e_measure_uuid: str) -> QualityMeasure | None:
        """The eCQM whose measure-level `eMeasureUuid` (the QRDA III measure reference) matches."""
        return self._quality_by_uuid.get(_key(e_measure_uuid))

    def ia(self, measure_id: str) -> ImprovementActivity | None:
        found = self.measure(measure_id)
        return found if isinstance(found, ImprovementActivity) else None

    def pi(self, measure_id: str) -> PiMeasure | None:
        found = self.measure(measure_id)
        return found if isinstance(found, PiMeasure) else None

    def cost(self, measure_id: str) -> CostMeasure | None:
        found = self.measure(measure_id)
        return found if isinstance(found, CostMeasure) else None

    def iter_measures(self) -> Iterator[Measure]:
        yield from self._measures.values()

    # benchmarks ----------------------------------------------------------------------

    def benchmark(self, measure_id: str, submission_method: str) -> Benchmark | None:
        return self._benchmarks.get((_key(measure_id), _key(submission_method)))

    def benchmarks_for(self, measure_id: str) -> tuple[Benchmark, ...]:
        wanted = _key(measure_id)
        return tuple(b for (mid, _), b in self._benchmarks.items() if mid == wanted)

    def benchmark_exclusion_reason(
        self, measure_id: str, submission_method: str
    ) -> BenchmarkExclusionReason | None:
        return self._exclusions.get((_key(measure_id), _key(submission_method)))

    def cost_national_average(self, measure_id: str) -> CostNationalAverage | None:
        return self._cost_averages.get(_key(measure_id))

    # clusters, MVPs ------------------------------------------------------------------

    def clinical_cluster(
        self, measure_id: str, submission_method: str
    ) -> ClinicalClusterRecord | None:
        return self._clusters.get((_key(measure_id), _key(submission_method)))

    def mvp(self, mvp_id: str) -> Mvp | None:
        return self._mvps.get(_key(mvp_id))

    def __repr__(self) -> str:
        return (
            f"MeasuresYear(year={self.year}, root={str(self.root)!r}, source={self.source!r}, "
            f"quality={len(self.quality_measures)}, ia={len(self.improvement_activities)}, "
            f"pi={len(self.pi_measures)}, cost={len(self.cost_measures)}, "
            f"benchmarks={len(self.benchmarks)})"
        )


# --------------------------------------------------------------------------- the catalogue


class MeasuresCatalogue:
    """Searches data roots in order; loads each performance year once, on first use."""

    def __init__(self, roots: Iterable[Path | str]) -> None:
        if isinstance(roots, str | Path):
            raise TypeError("roots must be a sequence of paths, not a single path")
        self._roots: tuple[Path, ...] = tuple(Path(root) for root in roots)
        self._lock = threading.Lock()
        self._years: dict[int, MeasuresYear] = {}

    @property
    def roots(self) -> tuple[Path, ...]:
        return self._roots

    def available_years(self) -> dict[int, Path]:
        """Every year some root provides, with the root that provides it (the first one)."""
        found: dict[int, Path] = {}
        for root in self._roots:
            measures_dir = root / "measures"
            if not measures_dir.is_dir():
                continue
            for child in measures_dir.iterdir():
                if not child.name.isdigit():
                    continue
                year = int(child.name)
                if year not in found and YearFiles.measures_path(root, year).is_file():
                    found[year] = root
        return dict(sorted(found.items()))

    def root_for(self, year: int) -> Path:
        """The first root that provides `year`; raises `MeasuresYearUnavailable`."""
        for root in self._roots:
            if YearFiles.measures_path(root, year).is_file():
                return root
        raise MeasuresYearUnavailable(year, self._roots, available=tuple(self.available_years()))

    def has_year(self, year: int) -> bool:
        return any(YearFiles.measures_path(root, year).is_file() for root in self._roots)

    def year(self, year: int) -> MeasuresYear:
        """The catalogue of `year` (loaded on first use, then cached on this object)."""
        with self._lock:
            cached = self._years.get(year)
            if cached is None:
                cached = load_year(self.root_for(year), year)
                self._years[year] = cached
            return cached

    def benchmark(self, year: int, measure_id: str, submission_method: str) -> Benchmark | None:
        return self.year(year).benchmark(measure_id, submission_method)

    def __repr__(self) -> str:
        return f"MeasuresCatalogue(roots={[str(r) for r in self._roots]!r})"


# --------------------------------------------------------------------------- loading


def load_year(root: Path, year: int) -> MeasuresYear:
    """Read one year's files from one root (no search, no cache)."""
    files = YearFiles.in_root(root, year)
    measures = _read_measures(files.measures)
    quality = tuple(m for m in measures if isinstance(m, QualityMeasure))
    return MeasuresYear(
        year=year,
        root=root,
        source=describe_source(root),
        files=files,
        quality_measures=quality,
        improvement_activities=tuple(m for m in measures if isinstance(m, ImprovementActivity)),
        pi_measures=tuple(m for m in measures if isinstance(m, PiMeasure)),
        cost_measures=tuple(m for m in measures if isinstance(m, CostMeasure)),
        benchmarks=_read_optional(files.benchmarks, Benchmark, _method_key, decimals=True),
        benchmark_exclusion_reasons=_read_optional(
            files.benchmark_exclusion_reasons, BenchmarkExclusionReason, _method_key
        ),
        cost_national_averages=_read_optional(
            files.cost_national_averages,
            CostNationalAverage,
            lambda c: _key(c.measure_id),
            decimals=True,
        ),
        clinical_clusters=_read_optional(
            files.clinical_clusters, ClinicalClusterRecord, _method_key
        ),
        mvps=_read_optional(files.mvp, Mvp, lambda m: _key(m.mvp_id)),
    )


def _method_key(
    record: Benchmark | BenchmarkExclusionReason | ClinicalClusterRecord,
) -> tuple[str, str]:
    return (_key(record.measure_id), _key(record.submission_method))


def describe_source(root: Path) -> str:
    """A provenance line: package.json's name@version, else the first line of SOURCE.md."""
    package = root / "package.json"
    if package.is_file():
        try:
            meta = json.loads(package.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            meta = None
        if isinstance(meta, dict) and meta.get("version"):
            name = meta.get("name") or "qpp-measures-data"
            return f"{name}@{meta['version']} (package.json in {root})"
    source_md = root / "SOURCE.md"
    if source_md.is_file():
        try:
            lines = source_md.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        for line in lines:
            text = line.strip().lstrip("#").strip()
            if text:
                return f"{text} (SOURCE.md in {root})"
    return str(root)


def _read_json_array(path: Path, *, decimals: bool = False) -> list[Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle, parse_float=Decimal) if decimals else json.load(handle)
    except json.JSONDecodeError as exc:
        raise MeasuresDataError(
            path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    except UnicodeDecodeError as exc:
        raise MeasuresDataError(path, f"not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise MeasuresDataError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if not isinstance(data, list):
        raise MeasuresDataError(
            path, f"expected a JSON array, found {type(data).__name__}", path="$"
        )
    return data


def _label(index: int, raw: Any) -> str:
    if isinstance(raw, dict):
        for id_field in ("measureId", "mvpId"):
            value = raw.get(id_field)
            if isinstance(value, str):
                return f"record {index} ({id_field} {value!r})"
    return f"record {index}"


def _validate(model: type[_ModelT], raw: Any, path: Path, index: int) -> _ModelT:
    if not isinstance(raw, dict):
        raise MeasuresDataError(
            path,
            f"expected a JSON object, found {type(raw).__name__}",
            record=_label(index, raw),
            path=f"$[{index}]",
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        json_path = f"$[{index}]" + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
        )
        problems = "; ".join(
            ".".join(str(part) for part in err["loc"]) + f": {err['msg']}"
            if err["loc"]
            else err["msg"]
            for err in errors[:3]
        )
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise MeasuresDataError(
            path, problems + more, record=_label(index, raw), path=json_path
        ) from exc


def _read_measures(path: Path) -> list[Measure]:
    """The records of the four known categories, in file order; others are skipped."""
    found: list[tuple[int, Measure]] = []
    for index, raw in enumerate(_read_json_array(path)):
        category = raw.get("category") if isinstance(raw, dict) else None
        if not isinstance(raw, dict) or not isinstance(category, str):
            raise MeasuresDataError(
                path,
                "a measure needs a string `category`",
                record=_label(index, raw),
                path=f"$[{index}].category",
            )
        model = _MEASURE_MODELS.get(category)
        if model is not None:
            found.append((index, _validate(model, raw, path, index)))
    _check_unique(path, ((i, _key(m.measure_id)) for i, m in found), "measureId")
    _check_unique(
        path,
        (
            (i, _key(m.e_measure_uuid))
            for i, m in found
            if isinstance(m, QualityMeasure) and m.e_measure_uuid
        ),
        "eMeasureUuid",
    )
    return [m for _, m in found]


def _read_optional(
    path: Path | None,
    model: type[_ModelT],
    key: Callable[[_ModelT], Hashable],
    *,
    decimals: bool = False,
) -> tuple[_ModelT, ...]:
    if path is None:
        return ()
    records = tuple(
        _validate(model, raw, path, index)
        for index, raw in enumerate(_read_json_array(path, decimals=decimals))
    )
    _check_unique(path, ((i, key(r)) for i, r in enumerate(records)), _KEY_NAMES[model])
    return records


_KEY_NAMES: Mapping[type[BaseModel], str] = {
    Benchmark: "(measureId, submissionMethod)",
    BenchmarkExclusionReason: "(measureId, submissionMethod)",
    ClinicalClusterRecord: "(measureId, submissionMethod)",
    CostNationalAverage: "measureId",
    Mvp: "mvpId",
}


def _check_unique(path: Path, keyed: Iterable[tuple[int, Hashable]], what: str) -> None:
    """A key (compared case-insensitively) may appear in one record only."""
    seen: dict[Hashable, int] = {}
    for index, key in keyed:
        if key in seen:
            raise MeasuresDataError(
                path,
                f"{what} {key!r} appears in record {seen[key]} and again "
                "(IDs are compared case-insensitively)",
                record=f"record {index}",
                path=f"$[{index}]",
            )
        seen[key] = index
