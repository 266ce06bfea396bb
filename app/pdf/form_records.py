"""Read a PDF's form fields as Instant JSON ``formFields`` records (issue 10, defect 7).

One record per field (``pspdfkit/form-field/text``, ``checkbox``, ``radio``, ``combobox``,
``listbox``, ``signature``, ``button``): its fully qualified name, label (``/TU``), flags
(``/Ff``: readOnly, required, noExport), choice options, and ``annotationIds``, the ids of
its widgets (the widget records' ids, their object numbers). The record id is
``form-field/<name>``: a field merged with its only widget shares that widget's object
number, which is the widget record's id already. ``dump`` writes them; ``apply`` fills the
fields through their values and leaves the definitions as the PDF has them.
"""

from __future__ import annotations

from typing import Any

import pymupdf
from lamina.model.ids import RecordId, record_id_for_pdf_object
from lamina.model.records import FormField
from lamina.pdf.document import PdfDocument, serialized

# PyMuPDF sets its constants at import time, which mypy cannot see.
_FITZ: Any = pymupdf

_KINDS = {
    "Text": "text",
    "CheckBox": "checkbox",
    "RadioButton": "radio",
    "ComboBox": "combobox",
    "ListBox": "listbox",
    "Signature": "signature",
    "Button": "button",
}
_FLAGS = ((1, "readOnly"), (2, "required"), (4, "noExport"))


@serialized
def read_form_field_records(doc: PdfDocument) -> list[FormField]:
    """Return the form fields of the PDF, in the order their first widget appears."""
    fields: dict[str, dict[str, Any]] = {}
    for page_index in range(doc.page_count):
        page = doc.fitz_page(page_index)
        if not any(t == _FITZ.PDF_ANNOT_WIDGET for _, t, _ in page.annot_xrefs()):
            continue
        for widget in page.widgets() or ():
            name = widget.field_name
            if not name:
                continue
            entry = fields.setdefault(
                name,
                {"kind": _KINDS.get(widget.field_type_string, "unknown"), "widgets": []},
            )
            entry["widgets"].append(str(record_id_for_pdf_object(widget.xref)))
            if entry["kind"] in ("checkbox", "radio"):
                state = str(widget.on_state() or "Yes")
                entry.setdefault("states", []).append({"label": state, "value": state})
            entry.setdefault("caption", widget.button_caption or "")
            entry.setdefault("label", widget.field_label or None)
            entry.setdefault("flags", int(widget.field_flags or 0))
            if entry["kind"] in ("combobox", "listbox") and widget.choice_values:
                entry.setdefault("options", _options(widget.choice_values))
    out = []
    for name, entry in fields.items():
        flags = tuple(label for bit, label in _FLAGS if entry["flags"] & bit)
        extra = _kind_keys(entry)
        out.append(
            FormField(
                id=RecordId(f"form-field/{name}"),
                field_type=f"pspdfkit/form-field/{entry['kind']}",
                name=name,
                label=entry.get("label") or name,
                annotation_ids=tuple(entry["widgets"]),
                flags=flags or None,
                extra=extra,
            )
        )
    return out


def _options(values: Any) -> list[dict[str, str]]:
    out = []
    for value in values:
        if isinstance(value, list | tuple) and len(value) == 2:
            out.append({"value": str(value[0]), "label": str(value[1])})
        else:
            out.append({"value": str(value), "label": str(value)})
    return out


def _kind_keys(entry: dict[str, Any]) -> dict[str, Any]:
    """The keys Document Engine's schema of the field's kind requires, from /Ff and the widgets."""
    kind, ff = entry["kind"], entry["flags"]
    out: dict[str, Any] = {}
    if "options" in entry:
        out["options"] = entry["options"]
    if kind in ("checkbox", "radio"):
        out["options"] = entry.get("states", [])
        out["defaultValues"] = []
    elif kind == "button":
        out["buttonLabel"] = entry.get("caption", "")
    elif kind == "text":
        out.update(
            doNotSpellCheck=bool(ff & 1 << 22),
            doNotScroll=bool(ff & 1 << 23),
            multiLine=bool(ff & 1 << 12),
            comb=bool(ff & 1 << 24),
            defaultValue="",
        )
    elif kind == "combobox":
        out.update(edit=bool(ff & 1 << 18), doNotSpellCheck=bool(ff & 1 << 22))
    return out
