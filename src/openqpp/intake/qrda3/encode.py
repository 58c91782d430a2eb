"""Turn a validated node tree into the canonical `Submission` (a port of CMS's encoders).

The result's `to_qpp_json()` is the JSON the reference converter writes for the same file.
Two things the reference would emit wrongly are refused here instead (codes in
docs/decisions/0005-qrda3-conversion.md): a measure whose computed `performanceNotMet` is
negative, and a measurement that would come out without a measure ID or a denominator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from openqpp.core.submissions import (
    Category,
    EntityType,
    Measurement,
    MeasurementSet,
    MeasurementValue,
    MultiPerformanceRate,
    PerformanceCounts,
    Proportion,
    SinglePerformanceRate,
    StratumPerformance,
    Submission,
    SubmissionMethod,
)
from openqpp.intake.qrda3 import decode as d
from openqpp.intake.qrda3.decode import Node, Unexpected
from openqpp.intake.qrda3.guides import Guide, T
from openqpp.intake.qrda3.rules import MeasureConfig, config_for, java_int, parse_date
from openqpp.measures import MeasuresYear

SECTION_CATEGORIES = {
    T.MEASURE_SECTION_V5: Category.QUALITY,
    T.PI_SECTION_V3: Category.PI,
    T.IA_SECTION_V3: Category.IA,
}
MEASUREMENT_KINDS = frozenset(
    {
        T.IA_MEASURE,
        T.PI_NUMERATOR_DENOMINATOR,
        T.PI_MEASURE_PERFORMED_REFERENCE_AND_RESULTS,
        T.MEASURE_REFERENCE_RESULTS_CMS_V5,
    }
)
LABELS = {
    "NUMER": "performanceMet",
    "DENOM": "eligiblePopulation",
    "DENEX": "eligiblePopulationExclusion",
    "DENEXCEP": "eligiblePopulationException",
}

#: openqpp's own conversion codes: (finding code, number in the converter-shaped report).
INCOMPLETE_MEASUREMENT = ("OQ-QRDA-001", 1001)
NEGATIVE_NOT_MET = ("OQ-QRDA-002", 1002)


@dataclass(frozen=True, slots=True)
class EncodeProblem:
    code: str
    number: int
    message: str
    node: Node
    measure_id: str | None = None


class _Refused(Exception):
    def __init__(self, problem: EncodeProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _clean_int(text: str | None) -> int:
    """`JsonWrapper.putInteger`: trimmed, lower-cased, then `Integer.parseInt`."""
    return java_int((text or "").strip().lower())


def _date(text: str | None) -> dt.date:
    year, month, day = parse_date(text)
    return dt.date(year, month, day)


@dataclass
class Encoding:
    guide: Guide
    measures_for: Callable[[], MeasuresYear | None]
    family: str
    problems: list[EncodeProblem] = field(default_factory=list)
    #: JSONPath -> the node it came from, to locate findings about the output.
    paths: dict[str, Node] = field(default_factory=dict)

    def submission(self, cd: Node) -> Submission | None:
        entity = cd.get(d.ENTITY_TYPE) or d.ENTITY_INDIVIDUAL
        entity_type = EntityType(entity)
        self.paths["$"] = cd
        rpa = cd.find_first(T.REPORTING_PARAMETERS_ACT)
        if rpa is None:
            raise Unexpected("no reporting parameters in the document")
        self.paths["$.performanceYear"] = rpa
        try:
            year = _clean_int(rpa.get(d.PERFORMANCE_YEAR))
        except ValueError:
            self._refuse(
                rpa,
                "The performance year cannot be read from the reporting period "
                "start. Write the start date as YYYYMMDD.",
                None,
            )
            return None
        npi = tin = entity_id = None
        if entity_type not in (EntityType.APM, EntityType.SUBGROUP):
            npi, tin = cd.get(d.NPI), cd.get(d.TIN)
        apm_with_program = entity_type is EntityType.APM and self.family != "ALL"
        if entity_type is EntityType.VIRTUAL_GROUP or apm_with_program:
            entity_id = cd.get(d.ENTITY_ID)
        elif entity_type is EntityType.SUBGROUP:
            entity_id = cd.get(d.SUBGROUP_ID)
        sets: list[MeasurementSet] = []
        seen: set[T] = set()
        for child in cd.children:
            if child.kind in seen:
                continue
            seen.add(child.kind)
            category = SECTION_CATEGORIES.get(child.kind)
            if category is None:
                continue
            path = f"$.measurementSets[{len(sets)}]"
            try:
                sets.append(self._section(cd, child, category, path))
            except _Refused as refused:
                self.problems.append(refused.problem)
        if self.problems:
            return None
        return Submission(
            performance_year=year,
            entity_type=entity_type,
            tin=tin,
            npi=npi,
            entity_id=entity_id,
            measurement_sets=tuple(sets),
        )

    def _refuse(self, node: Node, message: str, measure_id: str | None) -> None:
        code, number = INCOMPLETE_MEASUREMENT
        self.problems.append(EncodeProblem(code, number, message, node, measure_id))

    def _section(self, cd: Node, node: Node, category: Category, path: str) -> MeasurementSet:
        self.paths[path] = node
        for key in ("cehrtId", "programName"):
            self.paths[f"{path}.{key}"] = cd
        cehrt = None
        if category in (Category.PI, Category.QUALITY) and self.family != "ALL":
            cehrt = cd.get(d.CEHRT)
        mvp = cd.get(d.MVP_ID)
        program = mvp if mvp else cd.get(d.PROGRAM_NAME)
        measurements: list[Measurement] = []
        for child in node.children:
            if child.kind not in MEASUREMENT_KINDS:
                continue
            measurement_path = f"{path}.measurements[{len(measurements)}]"
            self.paths[measurement_path] = child
            try:
                measurements.append(self._measurement(child))
            except _Refused as refused:
                self.problems.append(refused.problem)
        rpa = node.find_first(T.REPORTING_PARAMETERS_ACT)
        if rpa is None:
            raise Unexpected("a section without reporting parameters passed validation")
        self.paths[f"{path}.performanceStart"] = rpa
        self.paths[f"{path}.performanceEnd"] = rpa
        try:
            start = _date(rpa.get(d.PERFORMANCE_START))
            end = _date(rpa.get(d.PERFORMANCE_END))
        except ValueError:
            raise _Refused(
                EncodeProblem(
                    *INCOMPLETE_MEASUREMENT,
                    "The reporting period dates cannot be read; write them as YYYYMMDD.",
                    rpa,
                )
            ) from None
        return MeasurementSet(
            category=category,
            submission_method=SubmissionMethod.ELECTRONIC_HEALTH_RECORD,
            measurements=tuple(measurements),
            program_name=program,
            performance_start=start,
            performance_end=end,
            cehrt_id=cehrt,
            source="qrda3",
        )

    # measurements -------------------------------------------------------------------

    def _measurement(self, node: Node) -> Measurement:
        if node.kind is T.MEASURE_REFERENCE_RESULTS_CMS_V5:
            return self._quality(node)
        measure_id = node.get(d.MEASURE_ID)
        if not measure_id:
            raise _Refused(
                EncodeProblem(
                    *INCOMPLETE_MEASUREMENT,
                    "This measure has no measure ID, so its data cannot be reported. Add "
                    "reference/externalDocument/id with the measure ID in @extension "
                    "(e.g. IA_EPA_1 or PI_EP_1).",
                    node,
                )
            )
        value: MeasurementValue
        if node.kind is T.PI_NUMERATOR_DENOMINATOR:
            value = self._proportion(node, measure_id)
        else:
            performed = node.find_first(T.MEASURE_PERFORMED)
            code = performed.get(d.MEASURE_PERFORMED) if performed is not None else None
            flag = (code or "").strip().lower()
            if flag not in ("y", "n", "yes", "no", "true", "false"):
                raise _Refused(
                    EncodeProblem(
                        *INCOMPLETE_MEASUREMENT,
                        f"{measure_id} has no Y/N answer, so it cannot be reported. Give the "
                        "measure performed observation a value code of Y or N.",
                        node,
                        measure_id,
                    )
                )
            value = flag in ("y", "yes", "true")
        return Measurement(measure_id=measure_id, value=value)

    def _proportion(self, node: Node, measure_id: str) -> Proportion:
        counts: dict[T, int] = {}
        for kind in (T.PI_NUMERATOR, T.PI_DENOMINATOR):
            child = next(node.children_of(kind), None)
            count = child.find_first(T.PI_AGGREGATE_COUNT) if child is not None else None
            if count is not None:
                counts[kind] = _clean_int(count.get(d.AGGREGATE_COUNT))
        if T.PI_NUMERATOR not in counts or T.PI_DENOMINATOR not in counts:
            raise _Refused(
                EncodeProblem(
                    *INCOMPLETE_MEASUREMENT,
                    f"{measure_id} needs one numerator and one denominator count.",
                    node,
                    measure_id,
                )
            )
        return Proportion(numerator=counts[T.PI_NUMERATOR], denominator=counts[T.PI_DENOMINATOR])

    def _quality(self, node: Node) -> Measurement:
        guid = node.get(d.MEASURE_ID)
        config = config_for(self.measures_for(), guid)
        if config is None:
            raise _Refused(
                EncodeProblem(
                    *INCOMPLETE_MEASUREMENT,
                    f"Measure GUID {guid} is not in the measures data, so the measure cannot be "
                    "reported. Use the eCQM's GUID from the implementation guide.",
                    node,
                    guid,
                )
            )
        measure_id = config.measure_id
        value: MeasurementValue
        if measure_id in self.guide.sum_strata_measure_ids:
            value = self._summed(node, measure_id)
        elif measure_id in self.guide.fill_strata_measure_ids:
            value = self._filled(node, config)
        elif config.metric_type.casefold() == "singlePerformanceRate".casefold():
            value = SinglePerformanceRate(
                is_end_to_end_reported=True, counts=self._counts(node, measure_id)
            )
        else:
            value = self._multi(node, config)
        return Measurement(measure_id=measure_id, value=value)

    def _data(self, node: Node) -> list[Node]:
        return list(node.children_of(T.MEASURE_DATA_CMS_V4))

    def _raw_count(self, node: Node) -> int:
        count = node.find_first(T.PI_AGGREGATE_COUNT)
        if count is None:
            raise Unexpected("measure data without an aggregate count")
        return java_int(count.get(d.AGGREGATE_COUNT))

    def _summed(self, node: Node, measure_id: str) -> SinglePerformanceRate:
        sums = {label: 0 for label in LABELS}
        for child in self._data(node):
            kind = child.get(d.MEASURE_TYPE)
            if kind in sums:
                sums[kind] += self._raw_count(child)
        not_met = sums["DENOM"] - sums["NUMER"] - sums["DENEX"] - sums["DENEXCEP"]
        self._check_not_met(node, measure_id, not_met, sums, None)
        return SinglePerformanceRate(
            is_end_to_end_reported=True,
            counts=PerformanceCounts(
                performance_met=sums["NUMER"],
                eligible_population=sums["DENOM"],
                performance_not_met=not_met,
                eligible_population_exclusion=sums["DENEX"],
                eligible_population_exception=sums["DENEXCEP"],
            ),
        )

    def _counts(
        self, group: Node, measure_id: str, stratum: str | None = None
    ) -> PerformanceCounts:
        """One population set: last value per type, performanceNotMet from the first ones."""
        data = self._data(group)
        first: dict[str, Node] = {}
        last: dict[str, int] = {}
        for child in data:
            kind = child.get(d.MEASURE_TYPE) or ""
            if kind in LABELS:
                first.setdefault(kind, child)
                count = child.find_first(T.PI_AGGREGATE_COUNT)
                if count is None:
                    raise Unexpected("measure data without an aggregate count")
                last[kind] = _clean_int(count.get(d.AGGREGATE_COUNT))
        if "DENOM" not in first or "NUMER" not in last:
            where = f" (stratum {stratum})" if stratum else ""
            raise _Refused(
                EncodeProblem(
                    *INCOMPLETE_MEASUREMENT,
                    f"Measure {measure_id}{where} has no "
                    f"{'denominator' if 'DENOM' not in first else 'numerator'} population, so "
                    "its performance cannot be reported. Add the DENOM and NUMER measure data.",
                    group,
                    measure_id,
                )
            )
        firsts = {k: self._raw_count(v) for k, v in first.items()}
        not_met = (
            firsts["DENOM"]
            - firsts.get("NUMER", 0)
            - firsts.get("DENEX", 0)
            - firsts.get("DENEXCEP", 0)
        )
        self._check_not_met(group, measure_id, not_met, firsts, stratum)
        return PerformanceCounts(
            performance_met=last["NUMER"],
            eligible_population=last["DENOM"],
            performance_not_met=not_met,
            eligible_population_exclusion=last.get("DENEX"),
            eligible_population_exception=last.get("DENEXCEP"),
        )

    def _check_not_met(
        self, node: Node, measure_id: str, not_met: int, counts: dict[str, int], stratum: str | None
    ) -> None:
        if not_met >= 0:
            return
        where = f" (stratum {stratum})" if stratum else ""
        code, number = NEGATIVE_NOT_MET
        raise _Refused(
            EncodeProblem(
                code,
                number,
                f"Measure {measure_id}{where}: DENOM {counts.get('DENOM', 0)} - NUMER "
                f"{counts.get('NUMER', 0)} - DENEX {counts.get('DENEX', 0)} - DENEXCEP "
                f"{counts.get('DENEXCEP', 0)} gives performanceNotMet {not_met}. The numerator, "
                "exclusions and exceptions together cannot exceed the denominator; correct the "
                "aggregate counts.",
                node,
                measure_id,
            )
        )

    def _filled(self, node: Node, config: MeasureConfig) -> MultiPerformanceRate:
        """Single-to-multi measures: strata with UUIDs get the measure's populations, the
        others zeros (the converter's `encodeSingleToMultiPerformance`)."""
        with_exclusion = any(
            s is not None and s.denominator_exclusion_uuid is not None
            for s in config.subpopulations
        )
        strata: list[StratumPerformance] = []
        for sub, name in zip(config.subpopulations, config.strata_names, strict=True):
            if sub is not None:
                counts = self._counts(node, config.measure_id, name)
                label = self._stratum_name(node, config)
            else:
                counts = PerformanceCounts(
                    performance_met=0,
                    eligible_population=0,
                    performance_not_met=0,
                    eligible_population_exclusion=0 if with_exclusion else None,
                )
                label = name
            strata.append(StratumPerformance(stratum=label or "", counts=counts))
        return MultiPerformanceRate(is_end_to_end_reported=True, strata=tuple(strata))

    def _stratum_name(self, group: Node, config: MeasureConfig) -> str | None:
        numerator = next((c for c in self._data(group) if c.get(d.MEASURE_TYPE) == "NUMER"), None)
        if numerator is None:
            return None
        population = (numerator.get(d.POPULATION_ID) or "").upper()
        for sub, name in zip(config.subpopulations, config.strata_names, strict=True):
            if sub is not None and sub.numerator_uuid == population:
                return name
        return population

    def _multi(self, node: Node, config: MeasureConfig) -> MultiPerformanceRate:
        index: dict[str | None, int] = {}
        groups: list[Node] = []
        for sub in config.subpopulations:
            if sub is None:
                raise Unexpected(f"measure {config.measure_id} has a stratum without UUIDs")
            if sub.numerator_uuid is None:
                continue
            for uuid in (
                sub.denominator_uuid,
                sub.denominator_exception_uuid,
                sub.denominator_exclusion_uuid,
                sub.numerator_uuid,
                sub.initial_population_uuid,
            ):
                index[uuid] = len(groups)
            groups.append(
                Node(T.MEASURE_REFERENCE_RESULTS_CMS_V5, node.parent, node.element, node.tid)
            )
        for child in self._data(node):
            population = child.get(d.POPULATION_ID)
            if population is None:
                raise Unexpected("measure data without a population id")
            position = index.get(population.upper())
            if position is not None:
                groups[position].children.append(child)
        strata: list[StratumPerformance] = []
        for group in groups:
            name = self._stratum_name(group, config)
            counts = self._counts(group, config.measure_id, name)
            if name is None:
                raise _Refused(
                    EncodeProblem(
                        *INCOMPLETE_MEASUREMENT,
                        f"A stratum of measure {config.measure_id} has no numerator, so it "
                        "cannot be named.",
                        node,
                        config.measure_id,
                    )
                )
            strata.append(StratumPerformance(stratum=name, counts=counts))
        return MultiPerformanceRate(is_end_to_end_reported=True, strata=tuple(strata))
