"""QRDA Category III intake: a hardened reader and a port of CMS's QRDA III converter.

`convert(data, source=..., measures_for=...)` gives a `Qrda3Conversion` holding either the
canonical `Submission` (whose QPP JSON is what CMSgov/qpp-conversion-tool writes for the same
file) or the problems, with the converter's error codes and line, column and XPath
locations. Guides for performance years 2019-2025 are read, chosen by the ClinicalDocument
templateId extension (`guides.yaml`).
"""

from openqpp.intake.qrda3.convert import (
    MAX_REPORTED_ERRORS,
    Qrda3Conversion,
    Qrda3Problem,
    convert,
)
from openqpp.intake.qrda3.guides import Guide, guides, newest_guide
from openqpp.intake.qrda3.xml import XmlLimits

__all__ = [
    "MAX_REPORTED_ERRORS",
    "Guide",
    "Qrda3Conversion",
    "Qrda3Problem",
    "XmlLimits",
    "convert",
    "guides",
    "newest_guide",
]
