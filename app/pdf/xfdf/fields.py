"""Form field values in XFDF: nested ``<field name>`` elements <-> fully qualified names.

``<fields><field name="root"><field name="child"><field name="text1"><value>`` is the value of
``root.child.text1``. XFDF does not say what kind a field is, so the PDF's form fields (their
``pspdfkit/form-field/<kind>`` type) decide the shape of a value, both ways: a check box's
value is a list of the ticked export values (``Off`` is ``[]``), a radio group's one string
(``Off`` is null), a list box's a list; a field of unknown kind has a string for one
``<value>`` and a list for several. ``<value-richtext>`` gives its text as the value and keeps
its XHTML in ``extra["xfdf"]["richText"]``, written back while the value still says the same.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from lamina.model.records import FormFieldValue, form_field_value_id
from lamina.pdf.xfdf.markup import local_name, plain_text, rich_body, same_text, serialize
from lamina.pdf.xfdf.vocabulary import EXTRA_KEY

_KNOWN_CHILDREN = ("value", "value-richtext", "field")


def field_kinds(types: Mapping[str, str]) -> dict[str, str]:
    """Return ``checkbox``, ``radio``, ... by field name, from form field record types."""
    return {name: kind.rpartition("/")[2] for name, kind in types.items()}


def read_fields(
    elem: ET.Element, kinds: Mapping[str, str], not_kept: list[str], prefix: str = ""
) -> list[FormFieldValue]:
    """Read the ``<field>`` elements under ``elem`` (a ``<fields>`` or a ``<field>``).

    Args:
        kinds: field kind by fully qualified name (see :func:`field_kinds`).
        not_kept: gets one line for each element no record keeps.
    """
    out = []
    for field in elem:
        if local_name(field) != "field" or field.get("name") is None:
            if local_name(field) not in ("value", "value-richtext"):
                not_kept.append(f"<{local_name(field)}> without a name in <fields>")
            continue
        name = f"{prefix}.{field.get('name')}" if prefix else str(field.get("name"))
        values = [c for c in field if local_name(c) == "value"]
        rich = [c for c in field if local_name(c) == "value-richtext"]
        subfields = [c for c in field if local_name(c) == "field"]
        for child in field:
            if local_name(child) not in _KNOWN_CHILDREN:
                not_kept.append(f"<{local_name(child)}> of field {name!r}")
        if values or rich or not subfields:
            out.append(_value(name, values, rich, kinds.get(name, "")))
        out.extend(read_fields(field, kinds, not_kept, name))
    return out


def _value(
    name: str, values: list[ET.Element], rich: list[ET.Element], kind: str
) -> FormFieldValue:
    texts = [e.text or "" for e in values]
    extra: dict[str, Any] = {}
    body = next(iter(rich[0]), None) if rich else None
    value: Any
    if body is not None:
        value = plain_text(body)
        extra[EXTRA_KEY] = {"richText": serialize(body)}
    elif kind == "checkbox":
        value = [t for t in texts if t != "Off"]
    elif kind == "radio":
        value = next((t for t in texts if t != "Off"), None)
    elif kind == "listbox":
        value = texts
    elif not values:
        value = None
    else:
        value = texts[0] if len(texts) == 1 else texts
    return FormFieldValue(id=form_field_value_id(name), name=name, value=value, extra=extra)


def write_fields(values: Sequence[FormFieldValue], kinds: Mapping[str, str]) -> ET.Element:
    """Return the ``<fields>`` element of these values, nested by name."""
    top = ET.Element("fields")
    nodes: dict[str, ET.Element] = {}
    for value in values:
        parent, path = top, ""
        for part in value.name.split("."):
            path = f"{path}.{part}" if path else part
            if path not in nodes:
                nodes[path] = ET.SubElement(parent, "field", {"name": part})
            parent = nodes[path]
        _write_value(parent, value, kinds.get(value.name, ""))
    return top


def _write_value(field: ET.Element, value: FormFieldValue, kind: str) -> None:
    left = value.extra.get(EXTRA_KEY)
    rich = left.get("richText") if isinstance(left, dict) else None
    if isinstance(rich, str) and isinstance(value.value, str):
        body = rich_body(rich)
        if same_text(plain_text(body), value.value):
            ET.SubElement(field, "value-richtext").append(body)
            return
    raw = value.value
    if raw is None and kind == "radio":
        raw = []  # no button chosen
    if raw is None:
        return  # no <value>: the field's value is left as it is
    texts = [str(t) for t in raw] if isinstance(raw, list) else [str(raw)]
    if not texts and kind != "listbox":
        texts = ["Off"]  # an unticked check box or radio group
    for text in texts:
        ET.SubElement(field, "value").text = text
