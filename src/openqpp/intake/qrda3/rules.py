"""The converter's validation of the decoded node tree (a port of CMS's validators).

Each validator checks one node kind, in tree order (a node, then its children that no
earlier check has marked validated), exactly as CMSgov/qpp-conversion-tool's `QrdaValidator`
and `Checker` do, so the same file yields the same error codes:

- non-forced checks stop at the first failure of that validator (`shortcut`);
- forced checks report everything;
- a check on a node marks it validated, so its own validator does not run again.

With `exhaustive=True` every check is forced, so every problem is reported (used by
`openqpp submissions validate`); the default reproduces the reference converter.

One deliberate difference from the reference: for APP and APP Plus files the eCQM GUID is
checked too (codes 70 and 6), where the reference checks eCQMs for MIPS only and then loses
the measurement sets of an APP file with an unknown GUID (see
docs/decisions/0005-qrda3-conversion.md). The population checks stay MIPS-only, as there.
"""

from __future__ import annotations

import re
import struct
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from openqpp.intake.qrda3 import decode as d
from openqpp.intake.qrda3.decode import Node, Unexpected
from openqpp.intake.qrda3.guides import TITLES, Guide, T
from openqpp.intake.qrda3.problems import message
from openqpp.measures import Measure, MeasuresYear, QualityMeasure, StratumUuids


@dataclass(frozen=True, slots=True)
class Problem:
    """One converter error: its code, its message and the node it is about."""

    code: int
    message: str
    node: Node | None = None


# --------------------------------------------------------------------------- measures data


@dataclass(frozen=True, slots=True)
class MeasureConfig:
    """What the converter reads from a measures-data record."""

    measure: Measure

    @property
    def measure_id(self) -> str:
        return self.measure.measure_id

    @property
    def e_measure_id(self) -> str | None:
        return self.measure.e_measure_id if isinstance(self.measure, QualityMeasure) else None

    @property
    def metric_type(self) -> str:
        return self.measure.metric_type

    @property
    def subpopulations(self) -> list[StratumUuids | None]:
        if not isinstance(self.measure, QualityMeasure):
            return []
        return [s.e_measure_uuids for s in self.measure.strata]

    @property
    def strata_names(self) -> list[str | None]:
        if not isinstance(self.measure, QualityMeasure):
            return []
        return [s.name for s in self.measure.strata]


_CONFIGS: weakref.WeakKeyDictionary[MeasuresYear, dict[str, MeasureConfig]] = (
    weakref.WeakKeyDictionary()
)


def configs(measures: MeasuresYear) -> dict[str, MeasureConfig]:
    """Records by the converter's key: eMeasureUuid, else eMeasureId, else measureId (lower)."""
    found = _CONFIGS.get(measures)
    if found is None:
        found = {}
        for measure in measures.iter_measures():
            key = measure.measure_id
            if isinstance(measure, QualityMeasure):
                key = measure.e_measure_uuid or measure.e_measure_id or measure.measure_id
            found[key.lower()] = MeasureConfig(measure)
        _CONFIGS[measures] = found
    return found


def config_for(measures: MeasuresYear | None, guid: str | None) -> MeasureConfig | None:
    if measures is None or guid is None:
        return None
    return configs(measures).get(guid.lower())


# --------------------------------------------------------------------------- Java parsing

_INT: Final = re.compile(r"[+-]?[0-9]+")
_FLOAT: Final = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[fFdD]?"
)
_DATE: Final = re.compile(r"[0-9]{8}")
INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1


def java_int(text: str | None) -> int:
    """`Integer.parseInt`: an optional sign and digits, in 32-bit range; else ValueError."""
    if text is None or _INT.fullmatch(text) is None:
        raise ValueError(f"not a Java int: {text!r}")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise ValueError(f"not a Java int: {text!r}")
    return value


def java_float(text: str | None) -> float:
    """`Float.parseFloat` (trimmed, rounded to 32 bits); else ValueError."""
    if text is None:
        raise ValueError("not a Java float: None")
    stripped = text.strip()
    if _FLOAT.fullmatch(stripped) is None:
        raise ValueError(f"not a Java float: {text!r}")
    body = (
        stripped.rstrip("fFdD")
        if stripped[-1:] in "fFdD" and "Infinity" not in stripped
        else stripped
    )
    value = float(body.replace("Infinity", "inf").replace("NaN", "nan"))
    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def parse_date(text: str | None) -> tuple[int, int, int]:
    """`FormatHelper.formattedDateParse`: strip `-` and `/`, read the first 8 chars as
    yyyyMMdd (a day past the month's end is moved to its last day, as Java's SMART resolver
    does); else ValueError."""
    clean = (text or "").strip().lower().replace("-", "").replace("/", "")[:8].strip()
    if _DATE.fullmatch(clean) is None:
        raise ValueError(f"not a yyyyMMdd date: {text!r}")
    year, month, day = int(clean[:4]), int(clean[4:6]), int(clean[6:])
    if year < 1 or not 1 <= month <= 12 or not 1 <= day <= 31:
        raise ValueError(f"not a yyyyMMdd date: {text!r}")
    return year, month, min(day, _days_in_month(year, month))


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


# --------------------------------------------------------------------------- the checker


#: A problem code with its message arguments; the message is written only when reported.
Msg = tuple[int, tuple[object, ...]]


def problem(code: int, *args: object) -> Msg:
    return code, args


def report(msg: Msg, node: Node | None) -> Problem:
    code, args = msg
    return Problem(code, message(code, *args), node)


class Checker:
    """A port of the converter's `Checker`, writing into one validator's problem list."""

    def __init__(self, node: Node, details: list[Problem], force: bool) -> None:
        self.node = node
        self.details = details
        self.force = force
        self.last: int | float | str | None = None
        node.validated = True

    def shortcut(self) -> bool:
        return not self.force and bool(self.details)

    def add(self, msg: Msg) -> None:
        self.details.append(report(msg, self.node))

    def value(self, msg: Msg, name: str) -> Checker:
        self.last = self.node.get(name)
        if not self.shortcut() and self.last is None:
            self.add(msg)
        return self

    def single_value(self, msg: Msg, name: str) -> Checker:
        self.value(msg, name)
        if self.node.duplications(name) != 0:
            self.add(msg)
        return self

    def value_is_not_empty(self, msg: Msg, name: str) -> Checker:
        self.last = self.node.get(name)
        if not self.shortcut() and not self.last:
            self.add(msg)
        return self

    def valid_date(self, msg: Msg, name: str) -> Checker:
        if not self.shortcut():
            try:
                parse_date(self.node.get(name))
            except ValueError:
                self.add(msg)
        return self

    def value_in(self, msg: Msg, name: str, *allowed: str) -> Checker:
        self.last = self.node.get(name)
        if self.last is None:
            self.add(msg)
            return self
        if not any(self.last.casefold() == a.casefold() for a in allowed):
            self.add(msg)
        return self

    def int_value(self, msg: Msg, name: str) -> Checker:
        if not self.shortcut():
            try:
                self.last = java_int(self.node.get(name))
            except ValueError:
                self.add(msg)
        return self

    def greater_than(self, msg: Msg, bound: int) -> Checker:
        if not self.shortcut() and isinstance(self.last, int) and self.last <= bound:
            self.add(msg)
        self.last = None
        return self

    def less_than_or_equal(self, msg: Msg, bound: int) -> Checker:
        if not self.shortcut() and isinstance(self.last, int) and self.last > bound:
            self.add(msg)
        self.last = None
        return self

    def in_range(self, msg: Msg, name: str, low: float, high: float) -> Checker:
        if not self.shortcut():
            try:
                value = java_float(self.node.get(name))
                if value != value or value < low or value > high:
                    self.add(msg)
            except ValueError:
                self.add(msg)
        return self

    def has_parent(self, msg: Msg, kind: T) -> Checker:
        if not self.shortcut():
            parent = self.node.parent.kind if self.node.parent is not None else T.DEFAULT
            if parent is not kind:
                self.add(msg)
        return self

    def has_children(self, msg: Msg) -> Checker:
        if not self.shortcut() and not self.node.children:
            self.add(msg)
        return self

    def _count(self, kinds: Iterable[T]) -> int:
        wanted = set(kinds)
        return sum(1 for child in self.node.children if child.kind in wanted)

    def child_minimum(self, msg: Msg, minimum: int, *kinds: T) -> Checker:
        if not self.shortcut() and self._count(kinds) < minimum:
            self.add(msg)
        return self

    def child_maximum(self, msg: Msg, maximum: int, *kinds: T) -> Checker:
        if not self.shortcut() and self._count(kinds) > maximum:
            self.add(msg)
        return self

    def child_exact(self, msg: Msg, exact: int, *kinds: T) -> Checker:
        if not self.shortcut() and self._count(kinds) != exact:
            self.add(msg)
        return self

    def only_has_children(self, msg: Msg, *kinds: T) -> Checker:
        if not self.shortcut() and any(c.kind not in kinds for c in self.node.children):
            self.add(msg)
        return self

    def one_child_policy(self, msg: Msg, kind: T, key: Callable[[Node], str | None]) -> Checker:
        nodes = list(self.node.children_of(kind))
        if len({key(n) for n in nodes}) < len(nodes):
            self.add(msg)
        return self

    def incomplete(self) -> Checker:
        self.node.validated = False
        return self


# --------------------------------------------------------------------------- validators


LABEL_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "DENEXCEP": ("DENEXCEP",),
    "DENEX": ("DENEX",),
    "NUMER": ("NUMER",),
    "NUMEX": ("NUMEX",),
    "DENOM": ("DENOM",),
    "IPOP": ("IPOP", "IPP"),
}
_UUID_OF: Final[dict[str, Callable[[StratumUuids], str | None]]] = {
    "DENEXCEP": lambda s: s.denominator_exception_uuid,
    "DENEX": lambda s: s.denominator_exclusion_uuid,
    "NUMER": lambda s: s.numerator_uuid,
    "NUMEX": lambda s: s.numerator_exclusion_uuid,
    "DENOM": lambda s: s.denominator_uuid,
    # The converter's IPOP getter reads the numerator UUID (never used for MIPS).
    "IPOP": lambda s: s.numerator_uuid,
}


class Validation:
    """Runs the validators over a decoded tree; collects `Problem`s in tree order."""

    def __init__(
        self,
        guide: Guide,
        measures_for: Callable[[], MeasuresYear | None],
        *,
        year_label: str,
        exhaustive: bool = False,
    ) -> None:
        self.guide = guide
        self._measures_for = measures_for
        self.year_label = year_label
        self.exhaustive = exhaustive
        self.problems: list[Problem] = []
        self.family = "ALL"
        self._validators: dict[T, Callable[[Node, list[Problem]], None]] = {
            T.CLINICAL_DOCUMENT: self.clinical_document,
            T.MEASURE_SECTION_V5: self.measure_section,
            T.REPORTING_PARAMETERS_ACT: self.reporting_parameters,
            T.IA_SECTION_V3: self.ia_section,
            T.IA_MEASURE: self.ia_measure,
            T.MEASURE_PERFORMED: self.measure_performed,
            T.PI_SECTION_V3: self.pi_section,
            T.PI_NUMERATOR_DENOMINATOR: self.pi_numerator_denominator,
            T.PI_NUMERATOR: self.pi_count("Numerator"),
            T.PI_DENOMINATOR: self.pi_count("Denominator"),
            T.PI_MEASURE_PERFORMED_REFERENCE_AND_RESULTS: self.pi_attestation,
            T.MEASURE_DATA_CMS_V4: self.measure_data,
            T.PI_AGGREGATE_COUNT: self.aggregate_count,
            T.PERFORMANCE_RATE_PROPORTION_MEASURE: self.performance_rate,
            T.MEASURE_REFERENCE_RESULTS_CMS_V5: self.quality_measure,
        }

    @property
    def measures(self) -> MeasuresYear | None:
        return self._measures_for()

    def check(self, node: Node, details: list[Problem]) -> Checker:
        return Checker(node, details, self.exhaustive)

    def force(self, node: Node, details: list[Problem]) -> Checker:
        return Checker(node, details, True)

    def run(self, root: Node, family: str) -> list[Problem]:
        self.family = family
        self._tree(root)
        return self.problems

    def _tree(self, node: Node) -> None:
        validator = self._validators.get(node.kind)
        if validator is not None:
            details: list[Problem] = []
            validator(node, details)
            self.problems.extend(details)
        for child in node.children:
            if not child.validated:
                self._tree(child)

    # ClinicalDocumentValidator ------------------------------------------------------

    def clinical_document(self, node: Node, details: list[Problem]) -> None:
        names = self.guide.program_names_message
        missing = problem(24, names)
        (
            self.force(node, details)
            .child_minimum(problem(23), 1, T.PI_SECTION_V3, T.IA_SECTION_V3, T.MEASURE_SECTION_V5)
            .child_maximum(problem(26), 1, T.PI_SECTION_V3)
            .child_maximum(problem(27), 1, T.IA_SECTION_V3)
            # The converter reports a second measure section with code 27, not 28.
            .child_maximum(problem(27), 1, T.MEASURE_SECTION_V5)
            .single_value(missing, d.PROGRAM_NAME)
        )
        if not any(p.code == 24 and p.node is node for p in details):
            program = node.get(d.PROGRAM_NAME) or "<missing>"
            entity = node.get(d.ENTITY_TYPE) or "<missing>"
            self.force(node, details).value_in(
                problem(25, names, program), d.PROGRAM_NAME, "mips", "app1", "appPlus"
            )
            if entity == d.ENTITY_VIRTUAL_GROUP:
                self.force(node, details).value(problem(78), d.ENTITY_ID)

    # QualityMeasureSectionValidator ----------------------------------------------------

    def measure_section(self, node: Node, details: list[Problem]) -> None:
        (
            self.check(node, details)
            .child_exact(problem(32), 1, T.REPORTING_PARAMETERS_ACT)
            .child_minimum(problem(81), 1, T.MEASURE_REFERENCE_RESULTS_CMS_V5)
            .one_child_policy(
                problem(71), T.MEASURE_REFERENCE_RESULTS_CMS_V5, lambda n: n.get(d.MEASURE_ID)
            )
            .single_value(problem(95), d.CATEGORY_SECTION)
            .value_in(problem(95), d.CATEGORY_SECTION, self.guide.category_report_extension)
        )

    # ReportingParametersActValidator ---------------------------------------------------

    def reporting_parameters(self, node: Node, details: list[Problem]) -> None:
        start = node.get(d.PERFORMANCE_START) or ""
        end = node.get(d.PERFORMANCE_END) or ""
        (
            self.check(node, details)
            .single_value(problem(29), d.PERFORMANCE_START)
            .single_value(problem(30), d.PERFORMANCE_END)
            .value(problem(31), d.PERFORMANCE_YEAR)
            .valid_date(problem(69, start), d.PERFORMANCE_START)
            .valid_date(problem(69, end), d.PERFORMANCE_END)
        )

    # IA -------------------------------------------------------------------------------

    def ia_section(self, node: Node, details: list[Problem]) -> None:
        (
            self.check(node, details)
            .child_minimum(problem(43), 1, T.IA_MEASURE)
            .child_exact(problem(44), 1, T.REPORTING_PARAMETERS_ACT)
            .only_has_children(problem(45), T.IA_MEASURE, T.REPORTING_PARAMETERS_ACT)
        )

    def ia_measure(self, node: Node, details: list[Problem]) -> None:
        self.check(node, details).child_exact(problem(50), 1, T.MEASURE_PERFORMED)

    def measure_performed(self, node: Node, details: list[Problem]) -> None:
        (
            self.check(node, details)
            .single_value(problem(51), d.MEASURE_PERFORMED)
            .value_in(problem(51), d.MEASURE_PERFORMED, "Y", "N")
        )

    # PI -------------------------------------------------------------------------------

    def pi_section(self, node: Node, details: list[Problem]) -> None:
        self.force(node, details).child_exact(problem(22), 1, T.REPORTING_PARAMETERS_ACT)
        proportions = list(node.children_of(T.PI_NUMERATOR_DENOMINATOR))
        if any(n.get(d.MEASURE_ID) == "PI_HIE_5" for n in proportions) and any(
            n.get(d.MEASURE_ID) in {"PI_HIE_1", "PI_LVOTC_1", "PI_HIE_4", "PI_LVITC_2"}
            for n in proportions
        ):
            details.append(report(problem(102), node))

    def pi_numerator_denominator(self, node: Node, details: list[Problem]) -> None:
        (
            self.check(node, details)
            .has_parent(problem(15), T.PI_SECTION_V3)
            .single_value(problem(16), d.MEASURE_ID)
            .has_children(problem(17))
            .child_exact(problem(18, "Denominator"), 1, T.PI_DENOMINATOR)
            .child_exact(problem(18, "Numerator"), 1, T.PI_NUMERATOR)
        )

    def pi_count(self, name: str) -> Callable[[Node, list[Problem]], None]:
        def validate(node: Node, details: list[Problem]) -> None:
            checker = self.check(node, details).child_exact(
                problem(39, name), 1, T.PI_AGGREGATE_COUNT
            )
            if checker.shortcut() or (self.exhaustive and details):
                return
            count = node.find_first(T.PI_AGGREGATE_COUNT)
            if count is None:
                return
            value = count.get(d.AGGREGATE_COUNT)
            shown = "empty" if value is None else value
            (
                self.check(count, details)
                .single_value(problem(42, name, shown), d.AGGREGATE_COUNT)
                .int_value(problem(41, name, shown), d.AGGREGATE_COUNT)
                .greater_than(problem(42, name, shown), -1)
            )

        return validate

    def pi_attestation(self, node: Node, details: list[Problem]) -> None:
        (
            self.force(node, details)
            .child_exact(problem(11), 1, T.MEASURE_PERFORMED)
            .single_value(problem(12), d.MEASURE_ID)
        )

    # measure data, counts, rates -----------------------------------------------------

    def measure_data(self, node: Node, details: list[Problem]) -> None:
        population = node.get(d.POPULATION_ID) or "empty population id"
        checker = (
            self.check(node, details)
            .has_children(problem(52, population))
            .child_exact(problem(52, population), 1, T.PI_AGGREGATE_COUNT)
        )
        if checker.shortcut() or (self.exhaustive and details):
            return
        child = node.find_first(T.PI_AGGREGATE_COUNT)
        if child is None:
            return
        (
            self.check(child, details)
            .single_value(
                problem(8, node.kind.name, child.duplications(d.AGGREGATE_COUNT)),
                d.AGGREGATE_COUNT,
            )
            .int_value(problem(9), d.AGGREGATE_COUNT)
            .greater_than(problem(53, population), -1)
        )

    def aggregate_count(self, node: Node, details: list[Problem]) -> None:
        parent = node.parent.kind.name if node.parent is not None else T.DEFAULT.name
        (
            self.check(node, details)
            .single_value(
                problem(8, parent, node.duplications(d.AGGREGATE_COUNT)), d.AGGREGATE_COUNT
            )
            .int_value(problem(9), d.AGGREGATE_COUNT)
        )

    def performance_rate(self, node: Node, details: list[Problem]) -> None:
        if node.get(d.NULL_RATE) == "NA":
            return
        checker = self.check(node, details).value_is_not_empty(problem(72), d.RATE)
        if checker.shortcut() or (self.exhaustive and details):
            return
        rate = node.get(d.RATE)
        self.check(node, details).in_range(problem(33, rate), d.RATE, 0.0, 1.0)

    # MipsQualityMeasureIdValidator ------------------------------------------------------

    def quality_measure(self, node: Node, details: list[Problem]) -> None:
        if self.family == "ALL":
            return  # the converter registers this validator for programs, not for "ALL"
        mips = self.family == "MIPS"
        checker = self.force(node, details).single_value(problem(70), d.MEASURE_ID)
        if mips:
            checker.child_minimum(problem(7), 1, T.MEASURE_DATA_CMS_V4)
        guid = node.get(d.MEASURE_ID)
        config = config_for(self.measures, guid) if guid is not None else None
        if config is None:
            if guid is not None:
                details.append(report(problem(6, guid, self.year_label), node))
            return
        if not mips:
            # APP and APP Plus files: the reference checks nothing here; openqpp checks the
            # GUID (70, 6) so an unknown eCQM cannot silently drop the measurement sets.
            return
        self._subpopulations(node, config, details)
        self._performance_rates(node, config, details)

    def _subpopulations(self, node: Node, config: MeasureConfig, details: list[Problem]) -> None:
        subpopulations = config.subpopulations
        if not subpopulations:
            return
        if config.measure_id in self.guide.fill_strata_measure_ids:
            subpopulations = [s for s in subpopulations if s is not None]
        present: list[StratumUuids] = []
        for sub in subpopulations:
            if sub is None:
                raise Unexpected(f"measure {config.measure_id} has a stratum without UUIDs")
            present.append(sub)
        data = list(node.children_of(T.MEASURE_DATA_CMS_V4))
        for label in ("DENEXCEP", "DENEX", "NUMER", "NUMEX", "DENOM"):
            expected = sum(1 for sub in present if _UUID_OF[label](sub) is not None)
            aliases = LABEL_ALIASES[label]
            actual = sum(1 for child in data if self._type_is(child, aliases, details))
            if expected != actual:
                details.append(
                    report(
                        problem(14, config.e_measure_id, expected, ",".join(aliases), actual),
                        node,
                    )
                )
        for sub in present:
            for label in ("DENEXCEP", "DENEX", "NUMER", "DENOM"):
                uuid = _UUID_OF[label](sub)
                if uuid is None:
                    continue
                aliases = LABEL_ALIASES[label]
                if not any(
                    self._type_is(child, aliases, details)
                    and self._population_is(child, uuid, details)
                    for child in data
                ):
                    details.append(
                        report(problem(59, config.e_measure_id, ",".join(aliases), uuid), node)
                    )
            self._denominator_within_population(data, sub, details)

    def _type_is(self, child: Node, aliases: tuple[str, ...], details: list[Problem]) -> bool:
        self.force(child, details).incomplete().single_value(problem(58), d.MEASURE_TYPE)
        return child.get(d.MEASURE_TYPE) in aliases

    def _population_is(self, child: Node, uuid: str, details: list[Problem]) -> bool:
        self.force(child, details).incomplete().single_value(problem(57), d.POPULATION_ID)
        population = child.get(d.POPULATION_ID)
        return population is not None and population.casefold() == uuid.casefold()

    def _denominator_within_population(
        self, data: list[Node], sub: StratumUuids, details: list[Problem]
    ) -> None:
        denominator = next(
            (
                c
                for c in data
                if c.get(d.MEASURE_TYPE) == "DENOM"
                and c.get(d.POPULATION_ID) == sub.denominator_uuid
            ),
            None,
        )
        population = next(
            (
                c
                for c in data
                if c.get(d.MEASURE_TYPE) in ("IPP", "IPOP")
                and c.get(d.POPULATION_ID) == sub.initial_population_uuid
            ),
            None,
        )
        if denominator is None or population is None:
            return
        denominator_count = denominator.find_first(T.PI_AGGREGATE_COUNT)
        population_count = population.find_first(T.PI_AGGREGATE_COUNT)
        if denominator_count is None or population_count is None:
            raise Unexpected("a population without an aggregate count")
        checker = (
            self.force(denominator_count, details)
            .incomplete()
            .int_value(problem(9), d.AGGREGATE_COUNT)
        )
        try:
            bound = java_int(population_count.get(d.AGGREGATE_COUNT))
        except ValueError:
            raise Unexpected("the initial population count is not an integer") from None
        checker.less_than_or_equal(problem(13, sub.denominator_uuid, self.year_label), bound)

    def _performance_rates(self, node: Node, config: MeasureConfig, details: list[Problem]) -> None:
        subpopulations = config.subpopulations
        if not subpopulations:
            return
        for rate in node.children_of(T.PERFORMANCE_RATE_PROPORTION_MEASURE):
            self.force(rate, details).incomplete().single_value(problem(61), d.RATE_UUID)
            uuid = rate.get(d.RATE_UUID)
            if uuid is None:
                continue
            if any(sub is None for sub in subpopulations):
                raise Unexpected(f"measure {config.measure_id} has a stratum without UUIDs")
            if not any(
                sub is not None
                and sub.numerator_uuid is not None
                and uuid.casefold() == sub.numerator_uuid.casefold()
                for sub in subpopulations
            ):
                expected = sorted({str(s.numerator_uuid) for s in subpopulations if s})
                details.append(
                    report(problem(59, config.e_measure_id, d.RATE_UUID, _join(expected)), node)
                )


def _join(items: list[str]) -> str:
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]


def location_title(node: Node | None, measures: MeasuresYear | None) -> str:
    """The converter's human location: "Quality Measure <guid> (CMS68v14)" and the like."""
    current = node
    while current is not None and current.kind not in TITLES:
        current = current.parent
    if current is None:
        return ""
    title = TITLES[current.kind]
    measure_id = current.get(d.MEASURE_ID)
    if measure_id:
        title += f" {measure_id}"
        config = config_for(measures, measure_id)
        if config is not None and config.e_measure_id:
            title += f" ({config.e_measure_id})"
    return title


def nodes_of(root: Node, kind: T) -> Iterator[Node]:
    return (n for n in root.iter_tree() if n.kind is kind)
