"""Typed loader for CMS's measures data pack (the `qpp-measures-data` layout).

    catalogue = MeasuresCatalogue([Path(".data/qpp-measures-data"), Path("/srv/qmd")])
    py2025 = catalogue.year(2025)
    py2025.quality("001").is_inverse
    catalogue.benchmark(2025, "001", "electronicHealthRecord").percentiles["90"]

Imports only the stdlib and pydantic; outer layers decide which roots to search.
"""

from openqpp.measures.catalogue import (
    MeasuresCatalogue,
    MeasuresYear,
    YearFiles,
    describe_source,
    load_year,
    roots_from_path_list,
)
from openqpp.measures.errors import (
    ENV_VAR,
    MeasuresDataError,
    MeasuresError,
    MeasuresYearUnavailable,
)
from openqpp.measures.models import (
    DECILE_PERCENTILE_KEYS,
    Benchmark,
    BenchmarkExclusionReason,
    ClinicalClusterRecord,
    CostMeasure,
    CostNationalAverage,
    IaWeight,
    ImprovementActivity,
    Measure,
    MeasureGroup,
    Mvp,
    PiMeasure,
    QualityMeasure,
    Stratum,
    StratumUuids,
)

__all__ = [
    "DECILE_PERCENTILE_KEYS",
    "ENV_VAR",
    "Benchmark",
    "BenchmarkExclusionReason",
    "ClinicalClusterRecord",
    "CostMeasure",
    "CostNationalAverage",
    "IaWeight",
    "ImprovementActivity",
    "Measure",
    "MeasureGroup",
    "MeasuresCatalogue",
    "MeasuresDataError",
    "MeasuresError",
    "MeasuresYear",
    "MeasuresYearUnavailable",
    "Mvp",
    "PiMeasure",
    "QualityMeasure",
    "Stratum",
    "StratumUuids",
    "YearFiles",
    "describe_source",
    "load_year",
    "roots_from_path_list",
]
