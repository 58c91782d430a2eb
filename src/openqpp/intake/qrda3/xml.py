"""A hardened XML reader for uploaded files, and where an element is in the original text.

The parser never resolves entities, never loads a DTD or anything over the network, keeps
libxml2's limits on (no `huge_tree`), and refuses any document type declaration outright:
DTDs are how XML external entity (XXE) and entity-expansion ("billion laughs") attacks work,
and QRDA III files never need one. Size and nesting depth are limited before and after
parsing. Refusals raise `XmlRefused` with a stable code; malformed XML raises
`XmlNotWellFormed`.

Locations follow CMS's converter (JDOM with a SAX locator): the line and column just after
the `>` that ends an element's start tag, counted in characters from 1, and an absolute
XPath of `*[local-name() = '...' and namespace-uri() = '...']` steps with a `[n]` position
where an element has same-named siblings. They are computed only when a problem is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from lxml import etree

#: A start tag, with quoted attribute values (which may contain `>`), or the constructs whose
#: text must not be read as tags.
_TOKEN: Final = re.compile(
    r"<!--.*?-->"
    r"|<!\[CDATA\[.*?\]\]>"
    r"|<\?.*?\?>"
    r"|<!DOCTYPE(?:[^\[>]|\[.*?\])*>"
    r"|</[^>]*>"
    r"|<(?P<start>[^\s/>!?][^\s/>]*)(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*/?>",
    re.DOTALL,
)
_DOCTYPE: Final = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_ENTITY: Final = re.compile(rb"<!ENTITY", re.IGNORECASE)
_FIRST_ELEMENT: Final = re.compile(rb"<[A-Za-z_:]")


@dataclass(frozen=True, slots=True)
class XmlLimits:
    """How much an uploaded XML file may be; generous for real QRDA III files."""

    max_bytes: int = 32 * 1024 * 1024
    max_depth: int = 100


class XmlRefused(Exception):
    """The file is refused before or while parsing, for safety or size."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class XmlNotWellFormed(Exception):
    """The bytes are not a well-formed XML document."""

    def __init__(self, detail: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.line = line
        self.column = column


_HARDENED: Final[dict[str, bool]] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
    "collect_ids": False,
    "recover": False,
}


def _parser() -> etree.XMLParser:
    # Whitespace between elements is never read; dropping it makes the tree smaller.
    return etree.XMLParser(remove_blank_text=True, **_HARDENED)


class _NoTree:
    """A parser target without event methods: libxml2 checks the syntax, builds nothing."""

    def close(self) -> None:
        return None


def _prescan(data: bytes, limits: XmlLimits) -> None:
    if len(data) > limits.max_bytes:
        raise XmlRefused(
            "OQ-XML-001",
            f"The file is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes. Split "
            "the data into several files (one per entity) or ask the operator to raise the "
            "limit.",
        )
    first_element = _FIRST_ELEMENT.search(data)
    prolog = data[: first_element.start()] if first_element else data
    if _DOCTYPE.search(prolog):
        raise _dtd_refused(bool(_ENTITY.search(prolog)))


def _syntax_error(exc: etree.XMLSyntaxError, limits: XmlLimits) -> Exception:
    text = str(exc.msg or exc)
    if "depth" in text.lower():
        return _depth_refused(limits)
    line, column = exc.position if exc.position else (None, None)
    return XmlNotWellFormed(text, line, column)


def check_well_formed(data: bytes, limits: XmlLimits = XmlLimits()) -> None:
    """Check the syntax (and the same refusals as `parse`) without building a tree."""
    _prescan(data, limits)
    try:
        etree.fromstring(data, etree.XMLParser(target=_NoTree(), **_HARDENED))
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, limits) from None
    except ValueError as exc:
        raise XmlNotWellFormed(str(exc)) from None


@lru_cache(maxsize=8)
def _too_deep(max_depth: int) -> etree.XPath:
    """True when some element sits deeper than `max_depth` below the root (runs in C)."""
    return etree.XPath("boolean(" + "/".join(["*"] * max_depth) + ")")


def parse(data: bytes, limits: XmlLimits = XmlLimits()) -> etree._Element:
    """The root element of `data`, or `XmlRefused` / `XmlNotWellFormed`."""
    _prescan(data, limits)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, limits) from None
    except ValueError as exc:  # e.g. an unsupported encoding declaration
        raise XmlNotWellFormed(str(exc)) from None
    if root is None:
        raise XmlNotWellFormed("the document is empty")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _dtd_refused(True)
    if _too_deep(limits.max_depth)(root):
        raise _depth_refused(limits)
    return root


def _dtd_refused(entities: bool) -> XmlRefused:
    what = "declares entities" if entities else "has a document type declaration (DOCTYPE)"
    return XmlRefused(
        "OQ-XML-002",
        f"The file {what}. DTDs and entity declarations are refused because they are how XML "
        "external entity (XXE) and entity-expansion ('billion laughs') attacks work; QRDA III "
        "files do not use them. Remove the <!DOCTYPE ...> declaration and any entity "
        "references.",
    )


def _depth_refused(limits: XmlLimits) -> XmlRefused:
    return XmlRefused(
        "OQ-XML-003",
        f"Elements are nested more than {limits.max_depth} levels deep; QRDA III files nest "
        "about 20. Check that the file was generated correctly.",
    )


# --------------------------------------------------------------------------- locations


def _step(element: etree._Element) -> str:
    qname = etree.QName(element)
    return f"*[local-name() = '{qname.localname}' and namespace-uri() = '{qname.namespace or ''}']"


def absolute_path(element: etree._Element) -> str:
    """The element's absolute XPath as JDOM's XPathHelper writes it."""
    steps: list[str] = []
    current: etree._Element | None = element
    while current is not None:
        parent = current.getparent()
        step = _step(current)
        if parent is not None:
            same = [c for c in parent.iterchildren(current.tag)]
            if len(same) > 1:
                step += f"[{same.index(current) + 1}]"
        steps.append(step)
        current = parent
    return "/" + "/".join(reversed(steps))


class SourceText:
    """Finds the line and column of elements in the original text, on demand."""

    def __init__(self, data: bytes, root: etree._Element) -> None:
        self._data = data
        self._root = root
        self._ends: list[tuple[int, int]] | None = None
        self._order: dict[etree._Element, int] | None = None

    def _index(self) -> None:
        encoding = self._root.getroottree().docinfo.encoding or "utf-8"
        try:
            text = self._data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            text = self._data.decode("utf-8", errors="replace")
        if text.startswith("\ufeff"):
            text = text[1:]
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        ends: list[tuple[int, int]] = []
        line, line_start, scanned = 1, 0, 0
        for match in _TOKEN.finditer(text):
            if match.group("start") is None:
                continue
            end = match.end()
            line += text.count("\n", scanned, end)
            last_newline = text.rfind("\n", 0, end)
            line_start = last_newline + 1 if last_newline >= 0 else 0
            scanned = end
            ends.append((line, end - line_start + 1))
        self._ends = ends
        self._order = {el: i for i, el in enumerate(self._root.iter(tag=etree.Element))}

    def position(self, element: etree._Element) -> tuple[int | None, int | None]:
        """(line, column) just after the end of the element's start tag."""
        if self._ends is None:
            self._index()
        assert self._ends is not None
        assert self._order is not None
        index = self._order.get(element)
        if index is not None and index < len(self._ends):
            return self._ends[index]
        return element.sourceline, None
