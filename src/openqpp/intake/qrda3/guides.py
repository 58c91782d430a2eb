"""The QRDA III implementation guides openqpp reads (`guides.yaml`), and their templates."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import yaml

GUIDES_FILE: Final = Path(__file__).with_name("guides.yaml")
CLINICAL_DOCUMENT_ROOT: Final = "2.16.840.1.113883.10.20.27.1.2"
CATEGORY_REPORT_ROOT: Final = "2.16.840.1.113883.10.20.27.2.1"


class T(IntEnum):
    """Template kinds, named as CMS's converter names them (the names appear in messages)."""

    CLINICAL_DOCUMENT = 1
    PI_AGGREGATE_COUNT = 2
    IA_SECTION_V3 = 3
    PI_SECTION_V3 = 4
    MEASURE_PERFORMED = 5
    PI_NUMERATOR_DENOMINATOR = 6
    PI_NUMERATOR = 7
    PI_DENOMINATOR = 8
    IA_MEASURE = 9
    REPORTING_PARAMETERS_ACT = 10
    MEASURE_DATA_CMS_V4 = 11
    PERFORMANCE_RATE_PROPORTION_MEASURE = 12
    MEASURE_SECTION_V5 = 13
    MEASURE_REFERENCE_RESULTS_CMS_V5 = 14
    PI_MEASURE_PERFORMED_REFERENCE_AND_RESULTS = 15
    REPORTING_STRATUM_CMS = 16
    ETHNICITY_SUPPLEMENTAL_DATA_ELEMENT_CMS_V2 = 17
    SEX_SUPPLEMENTAL_DATA_ELEMENT_CMS_V2 = 18
    RACE_SUPPLEMENTAL_DATA_ELEMENT_CMS_V2 = 19
    PAYER_SUPPLEMENTAL_DATA_ELEMENT_CMS_V2 = 20
    CATEGORY_REPORT_V5 = 21
    CONTINUOUS_VARIABLE_MEASURE_VALUE_CMS = 22
    NULL_RETURN = 23
    QED = 24
    PLACEHOLDER = 25
    DEFAULT = 26
    UNIMPLEMENTED = 27


#: Template roots (extension ignored, as the converter does) -> kind. The ClinicalDocument
#: root is not here: it matches only with its guide's exact extension.
BASE_ROOTS: Final[dict[str, T]] = {
    "2.16.840.1.113883.10.20.27.3.3": T.PI_AGGREGATE_COUNT,
    "2.16.840.1.113883.10.20.27.2.4": T.IA_SECTION_V3,
    "2.16.840.1.113883.10.20.27.2.5": T.PI_SECTION_V3,
    "2.16.840.1.113883.10.20.27.3.27": T.MEASURE_PERFORMED,
    "2.16.840.1.113883.10.20.27.3.28": T.PI_NUMERATOR_DENOMINATOR,
    "2.16.840.1.113883.10.20.27.3.31": T.PI_NUMERATOR,
    "2.16.840.1.113883.10.20.27.3.32": T.PI_DENOMINATOR,
    "2.16.840.1.113883.10.20.27.3.33": T.IA_MEASURE,
    "2.16.840.1.113883.10.20.17.3.8": T.REPORTING_PARAMETERS_ACT,
    "2.16.840.1.113883.10.20.27.3.16": T.MEASURE_DATA_CMS_V4,
    "2.16.840.1.113883.10.20.27.3.25": T.PERFORMANCE_RATE_PROPORTION_MEASURE,
    "2.16.840.1.113883.10.20.27.2.3": T.MEASURE_SECTION_V5,
    "2.16.840.1.113883.10.20.27.3.17": T.MEASURE_REFERENCE_RESULTS_CMS_V5,
    "2.16.840.1.113883.10.20.27.3.29": T.PI_MEASURE_PERFORMED_REFERENCE_AND_RESULTS,
    "2.16.840.1.113883.10.20.27.3.4": T.REPORTING_STRATUM_CMS,
    "2.16.840.1.113883.10.20.27.3.7": T.ETHNICITY_SUPPLEMENTAL_DATA_ELEMENT_CMS_V2,
    "2.16.840.1.113883.10.20.27.3.6": T.SEX_SUPPLEMENTAL_DATA_ELEMENT_CMS_V2,
    "2.16.840.1.113883.10.20.27.3.8": T.RACE_SUPPLEMENTAL_DATA_ELEMENT_CMS_V2,
    "2.16.840.1.113883.10.20.27.3.18": T.PAYER_SUPPLEMENTAL_DATA_ELEMENT_CMS_V2,
    CATEGORY_REPORT_ROOT: T.CATEGORY_REPORT_V5,
    "2.16.840.1.113883.10.20.27.3.2": T.CONTINUOUS_VARIABLE_MEASURE_VALUE_CMS,
    # The converter's internal pseudo templates answer to these roots too.
    "null.return": T.NULL_RETURN,
    "Q.E.D": T.QED,
    "placeholder": T.PLACEHOLDER,
    "default": T.DEFAULT,
    "unimplemented": T.UNIMPLEMENTED,
}

#: Human-readable titles used in error locations ("Quality Measure <guid> (CMS68v14)").
TITLES: Final[dict[T, str]] = {
    T.CLINICAL_DOCUMENT: "Clinical Document",
    T.IA_SECTION_V3: "IA Section",
    T.PI_SECTION_V3: "PI Section",
    T.PI_NUMERATOR_DENOMINATOR: "PI Measure",
    T.IA_MEASURE: "Improvement Activity",
    T.MEASURE_SECTION_V5: "Measure Section",
    T.MEASURE_REFERENCE_RESULTS_CMS_V5: "Quality Measure",
}


@dataclass(frozen=True, slots=True)
class Guide:
    """One CMS QRDA III implementation guide, selected by its ClinicalDocument extension."""

    extension: str
    performance_years: tuple[int, ...]
    title: str
    url: str
    category_report_extension: str
    program_names: tuple[str, ...]
    program_names_message: str
    roots: dict[str, T]
    sum_strata_measure_ids: frozenset[str]
    fill_strata_measure_ids: frozenset[str]
    reference: str

    @property
    def default_year(self) -> int:
        return self.performance_years[-1]

    def measures_year(self, reported_year: int | None) -> int:
        """The measures-data year for a file: its reported year when the guide covers it."""
        if reported_year in self.performance_years:
            return reported_year
        return self.default_year


def _join(names: tuple[str, ...]) -> str:
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + ", or " + names[-1]


def _guide(extension: str, raw: dict[str, Any]) -> Guide:
    roots = dict(BASE_ROOTS)
    for root in raw.get("ia_section_roots") or ():
        roots[str(root)] = T.IA_SECTION_V3
    for root in raw.get("ia_measure_roots") or ():
        roots[str(root)] = T.IA_MEASURE
    names = tuple(str(n).upper() for n in raw["program_names"])
    message = raw.get("program_names_message")
    return Guide(
        extension=extension,
        performance_years=tuple(int(y) for y in raw["performance_years"]),
        title=str(raw["title"]),
        url=str(raw["url"]),
        category_report_extension=str(raw["category_report_extension"]),
        program_names=names,
        program_names_message=" ".join(str(message).split()) if message else _join(names),
        roots=roots,
        sum_strata_measure_ids=frozenset(str(m) for m in raw.get("sum_strata_measure_ids") or ()),
        fill_strata_measure_ids=frozenset(str(m) for m in raw.get("fill_strata_measure_ids") or ()),
        reference=" ".join(str(raw["reference"]).split()),
    )


@lru_cache(maxsize=1)
def guides() -> dict[str, Guide]:
    """Every guide by its ClinicalDocument templateId extension."""
    raw = yaml.safe_load(GUIDES_FILE.read_text(encoding="utf-8"))
    return {str(ext): _guide(str(ext), entry) for ext, entry in raw["guides"].items()}


def newest_guide() -> Guide:
    return max(guides().values(), key=lambda g: g.default_year)
