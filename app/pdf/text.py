"""Text of a page for the UI: words with their positions (selection, markup) and search."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lamina.model.geometry import Rect
from lamina.pdf.document import PdfDocument, serialized


@dataclass(frozen=True)
class Word:
    """One word of a page's text, with its box in Instant coordinates.

    ``block_no``, ``line_no`` and ``word_no`` give reading order as MuPDF sees it: words of
    one line share ``block_no`` and ``line_no``.
    """

    text: str
    rect: Rect
    block_no: int
    line_no: int
    word_no: int


@serialized
def page_words(doc: PdfDocument, page_index: int) -> list[Word]:
    """Return the words of a page in reading order (empty for a scan without a text layer).

    Raises:
        PageOutOfRangeError: no such page.
    """
    page = doc.fitz_page(page_index)
    geometry = doc.page_geometry(page_index)
    words = []
    for x0, y0, x1, y1, text, block_no, line_no, word_no in page.get_text("words", sort=False):
        words.append(
            Word(
                text=text,
                rect=geometry.pymupdf_to_instant_rect((x0, y0, x1, y1)),
                block_no=int(block_no),
                line_no=int(line_no),
                word_no=int(word_no),
            )
        )
    return words


@serialized
def search_page(doc: PdfDocument, page_index: int, query: str) -> list[tuple[Rect, ...]]:
    """Find ``query`` on a page, ignoring case and differences in white space.

    Returns:
        One entry per hit, in reading order: the rectangles of the hit, one per text line it
        spans (Instant coordinates), covering only the characters matched: "trace" in
        "traces" covers five letters, a two-character CJK hit two characters.

    Raises:
        PageOutOfRangeError: no such page.
    """
    needle = " ".join(query.split()).casefold()
    if not needle:
        return []
    page = doc.fitz_page(page_index)
    geometry = doc.page_geometry(page_index)
    # The page's characters, white space collapsed to one space (also between lines), each
    # folded character remembering its box and line.
    folded: list[str] = []
    boxes: list[tuple[tuple[float, float, float, float], int] | None] = []
    line_id = 0
    for block in page.get_text("rawdict", sort=False).get("blocks", ()):
        for line in block.get("lines", ()):
            line_id += 1
            if folded and folded[-1] != " ":
                folded.append(" ")
                boxes.append(None)
            for span in line.get("spans", ()):
                for char in span.get("chars", ()):
                    c = char.get("c", "")
                    if c.isspace() or not c:
                        if folded and folded[-1] != " ":
                            folded.append(" ")
                            boxes.append(None)
                        continue
                    for part in c.casefold():
                        folded.append(part)
                        boxes.append((tuple(char["bbox"]), line_id))
    haystack = "".join(folded)
    hits: list[tuple[Rect, ...]] = []
    for match in re.finditer(re.escape(needle), haystack):
        lines: dict[int, Rect] = {}
        for k in range(match.start(), match.end()):
            owned = boxes[k]
            if owned is None:
                continue
            bbox, line_no = owned
            rect = geometry.pymupdf_to_instant_rect(bbox)
            lines[line_no] = lines[line_no].union(rect) if line_no in lines else rect
        if lines:
            hits.append(tuple(lines.values()))
    return hits
