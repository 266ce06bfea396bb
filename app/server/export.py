"""A layer as a PDF: its visible records written into the document's PDF.

The PDF is built from the records the token may view, as an Instant JSON diff against the
PDF's own annotations (:func:`lamina.model.diff.diff_against_base`): a base annotation the
token may not see counts as deleted, so it leaves the exported PDF too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lamina.model.diff import diff_against_base
from lamina.model.records import Record, record_from_json
from lamina.server.store import DocumentInfo, Store
from lamina.sync.state import RecordState


def _visible_records(
    records: Iterable[RecordState], visible: Callable[[RecordState], bool] | None
) -> list[Record]:
    """Return the live records ``visible`` lets through (all when None), parsed.

    Raises:
        InstantJsonError: a stored record is not valid Instant JSON.
    """
    return [
        record_from_json(dict(r.content), f"record {r.id}")
        for r in records
        if not r.deleted and r.content is not None and (visible is None or visible(r))
    ]


def build_layer_pdf(
    store: Store,
    document: DocumentInfo,
    records: Iterable[RecordState],
    visible: Callable[[RecordState], bool] | None,
    flatten: bool,
) -> bytes:
    """Return the document's PDF with the layer's visible records written into it."""
    from lamina.pdf import apply_instant_json, open_pdf
    from lamina.pdf.annotations import read_records

    source = store.read_asset(document.sha256)
    with open_pdf(source) as pdf:
        base = read_records(pdf)
    diff = diff_against_base(base, _visible_records(records, visible))
    data: bytes = apply_instant_json(source, diff, flatten=flatten)
    return data
