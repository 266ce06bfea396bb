"""The many-annotations PDF writer makes what it says, as pypdf reads it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pypdf

from tests.support.many_annotations import write_many_annotations


def test_it_writes_count_annotations_spread_over_the_pages(tmp_path: Path) -> None:
    pdf = write_many_annotations(tmp_path / "many.pdf", 60, pages=4)
    reader = pypdf.PdfReader(pdf)
    per_page = [len(page.get("/Annots") or []) for page in reader.pages]
    assert len(per_page) == 4
    kinds: Counter[str] = Counter()
    for page in reader.pages:
        for ref in page.get("/Annots") or []:
            kinds[str(ref.get_object()["/Subtype"])] += 1
    # Sticky notes may bring a popup each: count what was asked for.
    assert kinds["/Square"] == 20 and kinds["/Text"] == 20 and kinds["/FreeText"] == 20
    assert sum(per_page) - kinds["/Popup"] == 60
