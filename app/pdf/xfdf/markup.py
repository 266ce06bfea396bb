"""XML plumbing of the XFDF codec: refuse hostile XML, write XML back, read rich text.

Parsing goes through ``defusedxml`` with DTDs forbidden, so an entity bomb, an external
entity or an external DTD is refused before anything is expanded or fetched. Writing uses
:func:`serialize`, which keeps namespaces readable (XFDF as the default namespace, XHTML
declared on rich-text bodies, ``xfa:`` for Acrobat's body attributes) instead of
ElementTree's ``ns0:`` prefixes, and puts the line break *inside* the tags of XFDF elements
(``<square ...\\n/>``), as Acrobat does, because ``xml:space="preserve"`` makes whitespace
between tags significant.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import defusedxml
import defusedxml.ElementTree as SafeET
from lamina.pdf.errors import XfdfError

XFDF_NS = "http://ns.adobe.com/xfdf/"
XHTML_NS = "http://www.w3.org/1999/xhtml"
XFA_NS = "http://www.xfa.org/schema/xfa-data/1.0/"
XML_NS = "http://www.w3.org/XML/1998/namespace"

_PREFIXES = {XFA_NS: "xfa", XML_NS: "xml"}
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BLOCKS = frozenset({"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6"})


def parse_xml(data: bytes | str, what: str = "xfdf") -> ET.Element:
    """Parse XML that may be hostile; DTDs, entity declarations and external references fail.

    Raises:
        XfdfError: not well-formed, or refused; one line that says which.
    """
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except defusedxml.DTDForbidden as exc:
        raise XfdfError(
            f"{what} refused: it declares a document type (<!DOCTYPE>), which xfdf never "
            "needs and which can expand entities or fetch files"
        ) from exc
    except defusedxml.EntitiesForbidden as exc:
        raise XfdfError(f"{what} refused: it declares an entity ({exc.name!r})") from exc
    except defusedxml.ExternalReferenceForbidden as exc:
        raise XfdfError(f"{what} refused: it refers to an external resource") from exc
    except defusedxml.DefusedXmlException as exc:
        raise XfdfError(f"{what} refused: {type(exc).__name__}") from exc
    except ET.ParseError as exc:
        raise XfdfError(f"{what} is not well-formed xml ({exc})") from exc


def split_tag(tag: str) -> tuple[str, str]:
    """Return ``(namespace, local name)`` of an ElementTree tag or attribute name."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def local_name(elem: ET.Element) -> str:
    """Return the tag of ``elem`` without its namespace."""
    return split_tag(elem.tag)[1]


def escape(text: str, attribute: bool = False) -> str:
    """Escape text for XML; ``\\r`` (and in attributes line breaks and tabs) as references.

    Raises:
        ValueError: the text holds a character XML 1.0 cannot carry at all.
    """
    bad = _INVALID_XML.search(text)
    if bad:
        raise ValueError(f"character U+{ord(bad.group()):04X} cannot be written in xml")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\r", "&#13;")
    if attribute:
        text = text.replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    return text


def serialize(elem: ET.Element, default_ns: str | None = None) -> str:
    """Write ``elem`` as XML text; tags without a namespace are XFDF's.

    Args:
        elem: the element (its tags as ElementTree spells them, ``{ns}local``).
        default_ns: the default namespace in force where the text will stand (XFDF inside an
            XFDF document); ``None`` for a standalone fragment, which then declares its own.

    Raises:
        ValueError: some text holds a character XML cannot carry.
    """
    parts: list[str] = []
    _write(elem, default_ns, {}, parts)
    return "".join(parts)


def _write(
    elem: ET.Element, default_ns: str | None, prefixes: dict[str, str], parts: list[str]
) -> None:
    ns, name = split_tag(elem.tag)
    ns = ns or XFDF_NS
    head = [name]
    if ns != default_ns:
        head.append(f'xmlns="{escape(ns, True)}"')
    scope = dict(prefixes)
    for key, value in elem.attrib.items():
        attr_ns, attr = split_tag(key)
        if attr_ns:
            prefix = scope.get(attr_ns) or _PREFIXES.get(attr_ns) or f"ns{len(scope) + 1}"
            if attr_ns not in scope and attr_ns != XML_NS:
                head.append(f'xmlns:{prefix}="{escape(attr_ns, True)}"')
            scope[attr_ns] = prefix
            attr = f"{prefix}:{attr}"
        head.append(f'{attr}="{escape(value, True)}"')
    # Acrobat's layout: the line break inside the tag is not text, even with xml:space.
    end = "\n" if ns == XFDF_NS else ""
    if len(elem) == 0 and not elem.text:
        parts.append(f"<{' '.join(head)}{end}/>")
        return
    parts.append(f"<{' '.join(head)}{end}>")
    if elem.text:
        parts.append(escape(elem.text))
    for child in elem:
        _write(child, ns, scope, parts)
        if child.tail:
            parts.append(escape(child.tail))
    parts.append(f"</{name}{end}>")


DEFAULT_BODY_ATTRIBUTES = {
    f"{{{XFA_NS}}}APIVersion": "Acrobat:11.0.0",
    f"{{{XFA_NS}}}spec": "2.0.2",
}
"""The ``xfa:`` attributes Acrobat expects on a rich-text ``<body>`` (given when not kept)."""


def rich_body(xhtml: str, attributes: dict[str, str] | None = None) -> ET.Element:
    """Return the XHTML ``<body>`` of rich text given as a string (a body or its content).

    ``<p>Hello</p>`` gets a body around it, with ``attributes`` (by default the ``xfa:``
    ones Acrobat expects); a string that already is a ``<body>`` (or an ``<html>`` holding
    one) is used as it is.

    Raises:
        XfdfError: the text is not well-formed XML.
    """
    wrapper = parse_xml(f'<wrap xmlns="{XHTML_NS}">{xhtml}</wrap>', "its rich text")
    kids = list(wrapper)
    alone = len(kids) == 1 and not (wrapper.text or "").strip() and not (kids[0].tail or "").strip()
    if alone and local_name(kids[0]) == "html":
        inner = [k for k in kids[0] if local_name(k) == "body"]
        if inner:
            return inner[0]
    if alone and local_name(kids[0]) == "body":
        return kids[0]
    body = ET.Element(f"{{{XHTML_NS}}}body", dict(attributes or DEFAULT_BODY_ATTRIBUTES))
    body.text = wrapper.text
    body.extend(kids)
    return body


def body_content(body: ET.Element) -> str:
    """Return what a rich-text ``<body>`` holds, as XHTML text without the body itself."""
    parts = [escape(body.text or "")]
    for child in body:
        parts.append(serialize(child, XHTML_NS))
        parts.append(escape(child.tail or ""))
    return "".join(parts)


def plain_text(elem: ET.Element) -> str:
    """Return the text of rich text: paragraphs and ``<br/>`` become line breaks."""
    out: list[str] = []

    def walk(node: ET.Element) -> None:
        name = local_name(node)
        if name == "br" or (name in _BLOCKS and out and not out[-1].endswith("\n")):
            out.append("\n")
        if node.text:
            out.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                out.append(child.tail)

    walk(elem)
    return "".join(out)


def same_text(a: str | None, b: str | None) -> bool:
    """Tell whether two plain texts say the same, whatever their line endings."""

    def norm(text: str | None) -> str:
        return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()

    return norm(a) == norm(b)
