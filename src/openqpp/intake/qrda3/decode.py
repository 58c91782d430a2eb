"""Decode a QRDA III document into the converter's node tree (a port of CMS's decoder).

The tree is driven by `templateId` elements, exactly as in CMSgov/qpp-conversion-tool
(`QrdaDecoderEngine`): a `templateId` whose root is known creates a node, its decoder reads
values with paths relative to the templateId's parent element, and the node becomes the
parent of everything that follows in that element. Some decoders end their element
(`TREE_FINISHED`); a measure-data observation with an unknown population type is dropped with
its subtree (`TREE_ESCAPED`); an element whose templateIds are all unknown is not entered.

Values are kept as strings, first value in `data`, later ones in `dups` (the converter's
`putValue(name, value, false)`), so validation can tell "missing" from "repeated".
Only elements that are templateIds or contain one are visited; the others cannot change the
tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import Enum
from typing import Final

from lxml import etree

from openqpp.intake.qrda3.guides import CATEGORY_REPORT_ROOT, CLINICAL_DOCUMENT_ROOT, Guide, T

# Node value keys (the converter's names).
PROGRAM_NAME: Final = "programName"
RAW_PROGRAM_NAME: Final = "rawProgramName"
ENTITY_TYPE: Final = "entityType"
ENTITY_ID: Final = "entityId"
NPI: Final = "nationalProviderIdentifier"
TIN: Final = "taxpayerIdentificationNumber"
CEHRT: Final = "cehrtId"
MVP_ID: Final = "mvpId"
SUBGROUP_ID: Final = "subgroupId"
CATEGORY: Final = "category"
CATEGORY_SECTION: Final = "clinicalDocumentV5"
PERFORMANCE_START: Final = "performanceStart"
PERFORMANCE_END: Final = "performanceEnd"
PERFORMANCE_YEAR: Final = "performanceYear"
MEASURE_ID: Final = "measureId"
MEASURE_TYPE: Final = "type"
POPULATION_ID: Final = "populationId"
AGGREGATE_COUNT: Final = "aggregateCount"
MEASURE_PERFORMED: Final = "measurePerformed"
RATE: Final = "rate"
NULL_RATE: Final = "nullRate"
RATE_UUID: Final = "performanceRateUuid"
NAME: Final = "name"

ENTITY_INDIVIDUAL: Final = "individual"
ENTITY_GROUP: Final = "group"
ENTITY_APM: Final = "apm"
ENTITY_SUBGROUP: Final = "subgroup"
ENTITY_VIRTUAL_GROUP: Final = "virtualGroup"
MVP_ENTITIES: Final = frozenset({ENTITY_INDIVIDUAL, ENTITY_GROUP, ENTITY_SUBGROUP, ENTITY_APM})

#: Raw program name -> (programName, entityType), for the names a guide knows.
PROGRAMS: Final[dict[str, tuple[str, str]]] = {
    "MIPS_INDIV": ("mips", ENTITY_INDIVIDUAL),
    "MIPS_APP1_INDIV": ("app1", ENTITY_INDIVIDUAL),
    "MIPS_GROUP": ("mips", ENTITY_GROUP),
    "MIPS_APP1_GROUP": ("app1", ENTITY_GROUP),
    "MIPS_VIRTUALGROUP": ("mips", ENTITY_VIRTUAL_GROUP),
    "MIPS_APMENTITY": ("mips", ENTITY_APM),
    "MIPS_APP1_APMENTITY": ("app1", ENTITY_APM),
    "MIPS_SUBGROUP": ("mips", ENTITY_SUBGROUP),
    "APP_PLUS_INDIV": ("appPlus", ENTITY_INDIVIDUAL),
    "APP_PLUS_GROUP": ("appPlus", ENTITY_GROUP),
    "APP_PLUS_APMENTITY": ("appPlus", ENTITY_APM),
    "MIPS": ("mips", ENTITY_INDIVIDUAL),
}
#: The converter's program families; validators for the quality measure run per family.
PROGRAM_FAMILY: Final[dict[str, str]] = {
    "MIPS_GROUP": "MIPS",
    "MIPS_INDIV": "MIPS",
    "MIPS_VIRTUALGROUP": "MIPS",
    "MIPS": "MIPS",
    "MIPS_APMENTITY": "MIPS",
    "MIPS_SUBGROUP": "MIPS",
    "MIPS_APP1_INDIV": "APP",
    "MIPS_APP1_GROUP": "APP",
    "MIPS_APP1_APMENTITY": "APP",
    "APP_PLUS_INDIV": "APP_PLUS",
    "APP_PLUS_GROUP": "APP_PLUS",
    "APP_PLUS_APMENTITY": "APP_PLUS",
}

MEASURE_TYPES: Final = frozenset({"IPP", "IPOP", "DENEX", "DENOM", "DENEXCEP", "NUMER", "NUMEX"})


class Result(Enum):
    CONTINUE = 0
    FINISHED = 1
    ESCAPED = 2


class Unexpected(Exception):
    """The converter would fail with a runtime exception here (its code 3)."""


class Node:
    """One decoded template: its values, children, and where it came from."""

    __slots__ = ("children", "data", "dups", "element", "kind", "parent", "tid", "validated")

    def __init__(
        self,
        kind: T,
        parent: Node | None = None,
        element: etree._Element | None = None,
        tid: etree._Element | None = None,
    ) -> None:
        self.kind = kind
        self.parent = parent
        self.element = element
        self.tid = tid
        self.data: dict[str, str] = {}
        self.dups: dict[str, list[str]] | None = None
        self.children: list[Node] = []
        self.validated = False

    def get(self, name: str) -> str | None:
        return self.data.get(name)

    def put(self, name: str, value: str, replace: bool = True) -> None:
        """The converter's `putValue`: a second value without `replace` is a duplicate."""
        if replace or name not in self.data:
            self.data[name] = value
        else:
            if self.dups is None:
                self.dups = {}
            self.dups.setdefault(name, []).append(value)

    def duplications(self, name: str) -> int:
        """0 when absent or single-valued... as the converter counts: duplicates + 1, or 0."""
        if self.dups is None or name not in self.dups:
            return 0
        return len(self.dups[name]) + 1

    def children_of(self, *kinds: T) -> Iterator[Node]:
        return (child for child in self.children if child.kind in kinds)

    def find_first(self, kind: T) -> Node | None:
        """Breadth-first search from this node (itself first), like `Node.findFirstNode`."""
        if self.kind is kind:
            return self
        queue = list(self.children)
        i = 0
        while i < len(queue):
            node = queue[i]
            if node.kind is kind:
                return node
            queue.extend(node.children)
            i += 1
        return None

    def iter_tree(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.iter_tree()

    def __repr__(self) -> str:
        return f"Node({self.kind.name}, {self.data}, children={len(self.children)})"


# --------------------------------------------------------------------------- paths


def _ns_of(element: etree._Element) -> str:
    tag = element.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1 : tag.index("}")]
    return ""


def _clark(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}" if ns else name


Step = tuple[str, str | None]


def _select(element: etree._Element, ns: str, steps: tuple[Step, ...]) -> list[etree._Element]:
    current = [element]
    for name, root in steps:
        tag = _clark(ns, name)
        found: list[etree._Element] = []
        for parent in current:
            for child in parent.iterchildren(tag):
                if root is None or child.get("root") == root:
                    found.append(child)
        if not found:
            return found
        current = found
    return current


def values(element: etree._Element, ns: str, steps: tuple[Step, ...], attribute: str) -> list[str]:
    """The attribute values an XPath like `./a/b[@root='x']/@attr` selects, in order."""
    out: list[str] = []
    for selected in _select(element, ns, steps):
        value = selected.get(attribute)
        if value is not None:
            out.append(value)
    return out


_PERFORMER: Final[tuple[Step, ...]] = (
    ("documentationOf", None),
    ("serviceEvent", None),
    ("performer", None),
    ("assignedEntity", None),
)


def _org(root: str) -> tuple[Step, ...]:
    return (*_PERFORMER, ("representedOrganization", None), ("id", root))


PATH_PROGRAM_NAME: Final = (
    ("informationRecipient", None),
    ("intendedRecipient", None),
    ("id", "2.16.840.1.113883.3.249.7"),
)
PATH_NPI: Final = (*_PERFORMER, ("id", "2.16.840.1.113883.4.6"))
PATH_TIN: Final = _org("2.16.840.1.113883.4.2")
PATH_VG_ID: Final = _org("2.16.840.1.113883.3.249.5.2")
PATH_APM_ID: Final = _org("2.16.840.1.113883.3.249.5.4")
PATH_SUBGROUP_ID: Final = _org("2.16.840.1.113883.3.249.5.5")
PATH_CEHRT: Final = (
    ("participant", None),
    ("associatedEntity", None),
    ("id", "2.16.840.1.113883.3.2074.1"),
)
PATH_MVP_ID: Final = (
    ("participant", None),
    ("associatedEntity", None),
    ("id", "2.16.840.1.113883.3.249.5.6"),
)
PATH_CATEGORY_SECTION: Final = (("templateId", CATEGORY_REPORT_ROOT),)
PATH_LOW: Final = (("effectiveTime", None), ("low", None))
PATH_HIGH: Final = (("effectiveTime", None), ("high", None))
PATH_ECQM_GUID: Final = (
    ("reference", None),
    ("externalDocument", None),
    ("id", "2.16.840.1.113883.4.738"),
)
PATH_MEASURE_ID: Final = (("reference", None), ("externalDocument", None), ("id", None))
PATH_VALUE: Final = (("value", None),)
PATH_POPULATION: Final = (("reference", None), ("externalObservation", None), ("id", None))


# --------------------------------------------------------------------------- decoders


class Decoding:
    """One document's decoding: the guide, and the templateId kinds it recognises."""

    def __init__(self, guide: Guide) -> None:
        self.guide = guide
        self.roots = guide.roots
        self.program_names = frozenset(guide.program_names)

    def kind_of(self, tid: etree._Element) -> T:
        root = tid.get("root")
        if root == CLINICAL_DOCUMENT_ROOT:
            return (
                T.CLINICAL_DOCUMENT
                if tid.get("extension") == self.guide.extension
                else T.UNIMPLEMENTED
            )
        if root is None:
            return T.UNIMPLEMENTED
        return self.roots.get(root, T.UNIMPLEMENTED)

    # each decoder: (parent element of the templateId, its namespace, the new node)

    def clinical_document(self, el: etree._Element, ns: str, node: Node) -> Result:
        for raw in values(el, ns, PATH_PROGRAM_NAME, "extension"):
            upper = raw.upper()
            program, entity = (
                PROGRAMS[upper]
                if upper in self.program_names and upper in PROGRAMS
                else (raw.lower(), ENTITY_INDIVIDUAL)
            )
            node.put(PROGRAM_NAME, program, replace=False)
            node.put(ENTITY_TYPE, entity, replace=False)
            node.put(RAW_PROGRAM_NAME, raw, replace=False)
        for cehrt in values(el, ns, PATH_CEHRT, "extension"):
            node.put(CEHRT, cehrt, replace=False)
        entity_type = node.get(ENTITY_TYPE) or ""
        if entity_type in MVP_ENTITIES and self.family(node) == "MIPS":
            _first(node, MVP_ID, values(el, ns, PATH_MVP_ID, "extension"))
            if entity_type.casefold() == ENTITY_SUBGROUP.casefold():
                _first(node, SUBGROUP_ID, values(el, ns, PATH_SUBGROUP_ID, "extension"))
        if entity_type.casefold() == ENTITY_APM:
            _first(node, ENTITY_ID, values(el, ns, PATH_APM_ID, "extension"))
            node.put(NPI, ", ".join(values(el, ns, PATH_NPI, "extension")))
            node.put(TIN, ", ".join(values(el, ns, PATH_TIN, "extension")))
        else:
            _first(node, TIN, values(el, ns, PATH_TIN, "extension"))
            if entity_type == ENTITY_INDIVIDUAL:
                _first(node, NPI, values(el, ns, PATH_NPI, "extension"))
            if entity_type == ENTITY_VIRTUAL_GROUP:
                _first(node, ENTITY_ID, values(el, ns, PATH_VG_ID, "extension"))
        return Result.CONTINUE

    def family(self, node: Node) -> str:
        raw = node.get(RAW_PROGRAM_NAME)
        upper = raw.upper() if raw is not None else ""
        return PROGRAM_FAMILY.get(upper, "ALL") if upper in self.program_names else "ALL"

    def section(self, category: str) -> Callable[[etree._Element, str, Node], Result]:
        def decode(el: etree._Element, ns: str, node: Node) -> Result:
            node.put(CATEGORY, category)
            if category == "quality":
                _first(node, CATEGORY_SECTION, values(el, ns, PATH_CATEGORY_SECTION, "extension"))
            return Result.CONTINUE

        return decode

    def reporting_parameters(self, el: etree._Element, ns: str, node: Node) -> Result:
        for start in values(el, ns, PATH_LOW, "value"):
            node.put(PERFORMANCE_START, start, replace=False)
            if len(start) < 4:
                raise Unexpected("performance start shorter than a year")
            node.put(PERFORMANCE_YEAR, start[:4])
        for end in values(el, ns, PATH_HIGH, "value"):
            node.put(PERFORMANCE_END, end, replace=False)
        return Result.FINISHED

    def quality_measure(self, el: etree._Element, ns: str, node: Node) -> Result:
        for guid in values(el, ns, PATH_ECQM_GUID, "extension"):
            node.put(MEASURE_ID, guid.lower(), replace=False)
        return Result.CONTINUE

    def measure_data(self, el: etree._Element, ns: str, node: Node) -> Result:
        for code in values(el, ns, PATH_VALUE, "code"):
            if code in MEASURE_TYPES:
                node.put(MEASURE_TYPE, code, replace=False)
        for population in values(el, ns, PATH_POPULATION, "root"):
            node.put(POPULATION_ID, population, replace=False)
        return Result.CONTINUE if MEASURE_TYPE in node.data else Result.ESCAPED

    def aggregate_count(self, el: etree._Element, ns: str, node: Node) -> Result:
        for value in values(el, ns, PATH_VALUE, "value"):
            node.put(AGGREGATE_COUNT, value, replace=False)
        return Result.FINISHED

    def measure_performed(self, el: etree._Element, ns: str, node: Node) -> Result:
        for code in values(el, ns, PATH_VALUE, "code"):
            node.put(MEASURE_PERFORMED, code, replace=False)
        return Result.FINISHED

    def ia_measure(self, el: etree._Element, ns: str, node: Node) -> Result:
        _first(node, MEASURE_ID, values(el, ns, PATH_MEASURE_ID, "extension"))
        return Result.CONTINUE

    def pi_measure(self, el: etree._Element, ns: str, node: Node) -> Result:
        for measure_id in values(el, ns, PATH_MEASURE_ID, "extension"):
            node.put(MEASURE_ID, measure_id, replace=False)
        return Result.CONTINUE

    def named(self, name: str) -> Callable[[etree._Element, str, Node], Result]:
        def decode(el: etree._Element, ns: str, node: Node) -> Result:
            node.put(NAME, name)
            return Result.CONTINUE

        return decode

    def stratum(self, el: etree._Element, ns: str, node: Node) -> Result:
        for population in values(el, ns, PATH_POPULATION, "root"):
            node.put(POPULATION_ID, population, replace=False)
        return Result.FINISHED

    def performance_rate(self, el: etree._Element, ns: str, node: Node) -> Result:
        _first(node, RATE, values(el, ns, PATH_VALUE, "value"))
        if RATE not in node.data:
            _first(node, NULL_RATE, values(el, ns, PATH_VALUE, "nullFlavor"))
        _first(node, RATE_UUID, values(el, ns, PATH_POPULATION, "root"))
        return Result.FINISHED

    def supplemental(self, el: etree._Element, ns: str, node: Node) -> Result:
        # Supplemental data elements are neither validated nor converted.
        return Result.CONTINUE

    def decoders(self) -> dict[T, Callable[[etree._Element, str, Node], Result]]:
        return {
            T.CLINICAL_DOCUMENT: self.clinical_document,
            T.PI_AGGREGATE_COUNT: self.aggregate_count,
            T.IA_SECTION_V3: self.section("ia"),
            T.PI_SECTION_V3: self.section("pi"),
            T.MEASURE_SECTION_V5: self.section("quality"),
            T.MEASURE_PERFORMED: self.measure_performed,
            T.PI_NUMERATOR_DENOMINATOR: self.pi_measure,
            T.PI_MEASURE_PERFORMED_REFERENCE_AND_RESULTS: self.pi_measure,
            T.PI_NUMERATOR: self.named("piProportionNumerator"),
            T.PI_DENOMINATOR: self.named("piProportionDenominator"),
            T.IA_MEASURE: self.ia_measure,
            T.REPORTING_PARAMETERS_ACT: self.reporting_parameters,
            T.MEASURE_DATA_CMS_V4: self.measure_data,
            T.PERFORMANCE_RATE_PROPORTION_MEASURE: self.performance_rate,
            T.MEASURE_REFERENCE_RESULTS_CMS_V5: self.quality_measure,
            T.REPORTING_STRATUM_CMS: self.stratum,
            T.ETHNICITY_SUPPLEMENTAL_DATA_ELEMENT_CMS_V2: self.supplemental,
            T.SEX_SUPPLEMENTAL_DATA_ELEMENT_CMS_V2: self.supplemental,
            T.RACE_SUPPLEMENTAL_DATA_ELEMENT_CMS_V2: self.supplemental,
            T.PAYER_SUPPLEMENTAL_DATA_ELEMENT_CMS_V2: self.supplemental,
        }


def _first(node: Node, name: str, found: list[str]) -> None:
    """`setOnNode(..., selectOne=true)`: only the first match, replacing."""
    if found:
        node.put(name, found[0])


# --------------------------------------------------------------------------- the engine


class Engine:
    """Walks the element tree the way the converter's decoder engine does."""

    def __init__(self, decoding: Decoding, root: etree._Element) -> None:
        self.decoding = decoding
        self.decoders = decoding.decoders()
        self.root = root
        # Only templateIds and their ancestors can contribute to the tree: index them once,
        # with each element's relevant children in document order and each templateId's kind.
        kinds: dict[etree._Element, T] = {}
        kids: dict[etree._Element, list[etree._Element]] = {}
        kind_of = decoding.kind_of
        for tid in root.iter("{*}templateId", "templateId"):
            if tid in kinds:
                continue
            kinds[tid] = kind_of(tid)
            child = tid
            parent = tid.getparent()
            while parent is not None:
                siblings = kids.get(parent)
                if siblings is None:
                    kids[parent] = [child]
                else:
                    siblings.append(child)
                    break
                child = parent
                parent = parent.getparent()
        self.kinds = kinds
        self.kids = kids

    def decode(self) -> Node:
        placeholder = Node(T.PLACEHOLDER, element=self.root)
        self._children(self.root, placeholder)
        if not placeholder.children:
            raise Unexpected("no clinical document node was decoded")
        return placeholder.children[0]

    def _tree(self, element: etree._Element, parent: Node) -> tuple[Result, Node | None]:
        kind = self.kinds.get(element)
        if kind is not None:
            decoder = self.decoders.get(kind)
            if decoder is not None:
                owner = element.getparent()
                assert owner is not None
                node = Node(kind, parent, owner, element)
                result = decoder(owner, _ns_of(element), node)
                if result is Result.ESCAPED:
                    return Result.FINISHED, None
                parent.children.append(node)
                if result is Result.FINISHED:
                    return Result.FINISHED, node
                self._children(element, node)
                return Result.CONTINUE, node
        self._children(element, parent)
        return Result.CONTINUE, parent

    def _children(self, element: etree._Element, parent: Node) -> None:
        children = self.kids.get(element)
        if not children:
            return
        seen: set[T] = set()
        kept: list[etree._Element] = []
        kinds = self.kinds
        for child in children:
            kind = kinds.get(child)
            if kind is not None:
                duplicate = kind in seen
                seen.add(kind)
                if kind not in self.decoders or duplicate:
                    continue
            kept.append(child)
        if seen and all(kind is T.UNIMPLEMENTED for kind in seen):
            return
        current = parent
        for child in kept:
            result, node = self._tree(child, current)
            if result is Result.FINISHED:
                break
            if node is not None:
                current = node
