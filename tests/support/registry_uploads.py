"""Files a registry uploads in the tests: QPP JSON for the world's practices and clinicians, a
QRDA III file made from the shared reference ``valid-QRDA-III-abridged.xml`` (its TIN, NPI and
dates rewritten; its MVP and Promoting Interoperability section left out), and files with
errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

from lxml import etree

REFERENCE = Path("/work/shared/reference/qrda3")
HL7 = {"h": "urn:hl7-org:v3"}


def qpp_json(
    tin: str,
    *,
    npi: str | None = None,
    year: int,
    activities: dict[str, bool] | None = None,
) -> bytes:
    """One entity's Improvement Activities as QPP JSON (group when ``npi`` is None)."""
    chosen = activities or {"IA_EPA_1": True}
    document = {
        "performanceYear": year,
        "entityType": "individual" if npi else "group",
        "taxpayerIdentificationNumber": tin,
        **({"nationalProviderIdentifier": npi} if npi else {}),
        "measurementSets": [
            {
                "category": "ia",
                "submissionMethod": "registry",
                "performanceStart": f"{year}-01-01",
                "performanceEnd": f"{year}-12-31",
                "measurements": [{"measureId": k, "value": v} for k, v in chosen.items()],
            }
        ],
    }
    return json.dumps(document, indent=2).encode("utf-8")


def bad_qpp_json(tin: str, *, year: int) -> bytes:
    """QPP JSON with activities the year does not have: errors, never stored."""
    return qpp_json(tin, year=year, activities={"IA_NOPE_1": True, "IA_NOPE_2": False})


def qrda3_from_reference(*, tin: str, npi: str, year: int) -> bytes:
    """``valid-QRDA-III-abridged.xml`` for ``tin``/``npi`` in ``year``: one Improvement Activity
    (IA_EPA_1), programme MIPS."""
    root = etree.fromstring((REFERENCE / "valid-QRDA-III-abridged.xml").read_bytes())
    for node in root.xpath(
        "//h:participant[h:associatedEntity/h:id[@root='2.16.840.1.113883.3.249.5.6']]"
        " | //h:component[h:section/h:templateId[@root='2.16.840.1.113883.10.20.27.2.5']]",
        namespaces=HL7,
    ):
        node.getparent().remove(node)
    for node in root.xpath(
        "//h:assignedEntity/h:id[@root='2.16.840.1.113883.4.6']", namespaces=HL7
    ):
        node.set("extension", npi)
    for node in root.xpath(
        "//h:representedOrganization/h:id[@root='2.16.840.1.113883.4.2']", namespaces=HL7
    ):
        node.set("extension", tin)
    for node in root.xpath("//*[@value]"):
        value = node.get("value")
        if re.fullmatch(r"20\d{6}(\d{6})?", value):
            node.set("value", f"{year}{value[4:]}")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def qrda3_with_converter_errors() -> bytes:
    """A reference file the converter refuses (error 43: an IA section without activities)."""
    return (REFERENCE / "iaSectionMissingMeasures.xml").read_bytes()
