"""What the desktop needs to fill a PDF's form: each field's kind, options and widget states.

Instant JSON's widget records name their field but not its kind, and Lamina does not emit
``pspdfkit/form-field/*`` records yet, so the filler reads the AcroForm itself: one
:class:`FormFieldInfo` per field name. Values use the Instant JSON shapes the reader and the
writer use (:mod:`lamina.pdf.annotations`, :mod:`lamina.pdf.writer`): text ``str``, check
boxes and radio groups ``[on_state]`` or ``[]``, choice lists ``[option, ...]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from lamina.pdf.document import PdfDocument, serialized

FieldKind: TypeAlias = Literal["text", "checkbox", "radio", "combobox", "listbox"]

_KINDS: dict[str, FieldKind] = {
    "Text": "text",
    "CheckBox": "checkbox",
    "RadioButton": "radio",
    "ComboBox": "combobox",
    "ListBox": "listbox",
}

_READ_ONLY_FLAG = 1  # /Ff bit 1
_MULTILINE_FLAG = 1 << 12  # /Ff bit 13 (text fields)


@dataclass(frozen=True)
class FormFieldInfo:
    """One fillable field.

    ``on_states`` maps each widget's record id (its object number as a string) to the state
    that widget stands for when on (check boxes and radio groups; ``""`` for other kinds).
    ``options`` are a choice field's choices in order; ``value`` is the PDF's own value.
    """

    name: str
    kind: FieldKind
    options: tuple[str, ...] = ()
    on_states: dict[str, str] = field(default_factory=dict)
    multiline: bool = False
    read_only: bool = False
    value: str | tuple[str, ...] | None = None


@serialized
def read_form_fields(doc: PdfDocument) -> dict[str, FormFieldInfo]:
    """Return the fillable fields of ``doc`` by name (push buttons and signatures left out)."""
    fields: dict[str, FormFieldInfo] = {}
    if not doc.fitz_document.is_form_pdf:
        return fields  # no AcroForm: no page need be loaded (a long PDF opens faster)
    for index in range(doc.page_count):
        page = doc.fitz_page(index)
        for widget in page.widgets() or ():
            kind = _KINDS.get(widget.field_type_string)
            name = widget.field_name
            if kind is None or not name:
                continue
            known = fields.get(name)
            states = dict(known.on_states) if known else {}
            if kind in ("checkbox", "radio"):
                states[str(widget.xref)] = str(widget.on_state() or "Yes")
            else:
                states[str(widget.xref)] = ""
            if known is not None:
                fields[name] = FormFieldInfo(
                    name,
                    known.kind,
                    known.options,
                    states,
                    known.multiline,
                    known.read_only,
                    known.value,
                )
                continue
            flags = int(widget.field_flags or 0)
            options = tuple(_option_text(o) for o in (widget.choice_values or ()))
            fields[name] = FormFieldInfo(
                name=name,
                kind=kind,
                options=options,
                on_states=states,
                multiline=kind == "text" and bool(flags & _MULTILINE_FLAG),
                read_only=bool(flags & _READ_ONLY_FLAG),
                value=_value(widget, kind),
            )
    return fields


def _option_text(option: object) -> str:
    # A choice is a string, or a [export value, shown text] pair.
    if isinstance(option, list | tuple) and option:
        return str(option[-1])
    return str(option)


def _value(widget: object, kind: FieldKind) -> str | tuple[str, ...] | None:
    raw = getattr(widget, "field_value", None)
    if kind in ("checkbox", "radio"):
        if raw in (None, "", False, "Off"):
            return ()
        return (str(widget.on_state() or "Yes"),) if raw is True else (str(raw),)  # type: ignore[attr-defined]
    if isinstance(raw, list | tuple):
        return tuple(str(v) for v in raw)
    return None if raw is None else str(raw)
