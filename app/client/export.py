"""Exports of what the user sees: an Instant JSON diff, or a PDF with standard annotations.

Both follow the one diff rule of DESIGN §3 (:func:`lamina.model.diff.diff_against_base`):
the base is the PDF's own annotations as the document's
:class:`~lamina.client.upstream.Upstream` read them, never the records that happen to be in
view when the document was opened, so an original deleted before a reopen stays deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lamina.client.backend import PdfBackend
from lamina.client.upstream import Upstream
from lamina.fsutil import write_atomically
from lamina.model.diff import diff_against_base
from lamina.model.instant_json import instant_json_to_dict
from lamina.model.records import Record


def export_instant_json(
    upstream: Upstream, records: Iterable[Record], layers: Iterable[str] = ()
) -> dict[str, Any]:
    """Return ``records`` (what the user sees) as an Instant JSON diff against the PDF.

    ``layers`` adds the records other layers being viewed made themselves: the PDF's
    original annotations always come from the document's own layer, so another layer's
    change or delete of an original is not merged, and a record id already exported is not
    exported twice.

    Raises:
        LayerAccessError: a named layer is not being viewed.
    """
    base = upstream.base_records()
    own = list(records)
    own_layer = upstream.claims().layer
    taken = {r.id for r in own} | {r.id for r in base}
    for name in layers:
        if name == own_layer:
            continue
        for record in upstream.layer_records(name):
            if record.id not in taken:
                taken.add(record.id)
                own.append(record)
    return instant_json_to_dict(diff_against_base(base, own))


async def export_pdf(
    upstream: Upstream,
    backend: PdfBackend,
    diff: dict[str, Any],
    out_path: Path,
    *,
    flatten: bool,
    password: str | None,
) -> None:
    """Write the original PDF with the Instant JSON ``diff`` applied to ``out_path``.

    ``flatten`` burns the annotations into the pages. The file appears complete or not at all.

    Raises:
        DocumentUnavailableError: a server document's PDF is not downloaded yet.
        LaminaError: the PDF backend could not write it (``out_path`` is unchanged).
    """
    with upstream.original_pdf() as source:
        await asyncio.to_thread(
            write_atomically,
            out_path,
            lambda tmp: backend.write_pdf(source, diff, tmp, flatten=flatten, password=password),
        )
