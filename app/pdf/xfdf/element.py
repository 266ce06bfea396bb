"""One XFDF element being read: what the reader takes from it, and what is kept as it was.

What the record has no field for (attributes, child elements, texts that would not be
written back as they were) ends in :meth:`Element.leftovers`, the record's
``extra["xfdf"]``, which the writer puts back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, TypeVar

from lamina.pdf.xfdf.markup import XFDF_NS, local_name, serialize

T = TypeVar("T")


class Element:
    """One XFDF element being read: what is taken from it, and what is left over."""

    def __init__(self, elem: ET.Element, label: str) -> None:
        self.tag = local_name(elem)
        self.label = label
        self.pending: dict[str, str] = dict(elem.attrib)
        self.kept: dict[str, str] = {}
        self.children = list(elem)
        self.extra: dict[str, Any] = {}

    def take(self, name: str) -> str | None:
        return self.pending.pop(name, None)

    def mapped(
        self,
        name: str,
        parse: Callable[[str], T],
        render: Callable[[T], str | None] | None = None,
    ) -> T | None:
        """Read an attribute; keep its text when unreadable, or when ``render`` cannot
        write it back as it was (``SBApproved`` reads as ``Approved``)."""
        raw = self.pending.pop(name, None)
        if raw is None:
            return None
        try:
            value = parse(raw)
        except ValueError:
            self.kept[name] = raw
            return None
        if render is not None and render(value) != raw:
            self.kept[name] = raw
        return value

    def child(self, name: str) -> ET.Element | None:
        for index, elem in enumerate(self.children):
            if local_name(elem) == name:
                return self.children.pop(index)
        return None

    def leftovers(self) -> dict[str, Any]:
        out = dict(self.extra)
        attributes = {**self.kept, **self.pending}
        if attributes:
            out["attributes"] = attributes
        if self.children:
            out["elements"] = [serialize(c, XFDF_NS) for c in self.children]
        return out


def child_text(
    el: Element, name: str, parse: Callable[[str], T], render: Callable[[T], str | None]
) -> T:
    """Read a child element's text; keep the text when it would not be written back as is."""
    elem = el.child(name)
    text = (elem.text or "") if elem is not None else ""
    value = parse(text)
    if elem is not None and render(value) != text:
        el.extra.setdefault("texts", {})[name] = text
    return value


__all__ = ["Element", "child_text"]
