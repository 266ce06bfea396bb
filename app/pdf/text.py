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
        spans (Instant coordinates, covering the whole words the hit touches), ready to
        become a highlight's ``rects``.

    Raises:
        PageOutOfRangeError: no such page.
    """
    needle = " ".join(query.split()).casefold()
    if not needle:
        return []
    words = page_words(doc, page_index)
    # The page's words joined by single spaces, with the word each character belongs to.
    haystack_parts: list[str] = []
    owner: list[int] = []
    for i, word in enumerate(words):
        if i:
            haystack_parts.append(" ")
            owner.append(-1)
        folded = word.text.casefold()
        haystack_parts.append(folded)
        owner.extend([i] * len(folded))
    haystack = "".join(haystack_parts)
    hits: list[tuple[Rect, ...]] = []
    for match in re.finditer(re.escape(needle), haystack):
        covered = sorted({owner[k] for k in range(match.start(), match.end()) if owner[k] >= 0})
        lines: dict[tuple[int, int], Rect] = {}
        for index in covered:
            word = words[index]
            key = (word.block_no, word.line_no)
            lines[key] = lines[key].union(word.rect) if key in lines else word.rect
        hits.append(tuple(lines.values()))
    return hits
