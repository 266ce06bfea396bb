"""Where the repository and the shared corpus are, and how tests name a corpus PDF."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CORPUS_PDFS = SHARED / "corpus" / "pdfs"
CORPUS_INSTANT_JSON = SHARED / "corpus" / "instant-json"

STAMPS = "annot-stamps"
"""A one-page corpus PDF with five stamp annotations (the base layer of most server tests)."""


def corpus_pdf(prefix: str) -> Path:
    """Return the corpus PDF whose name starts with ``prefix``.

    Raises:
        LookupError: no corpus file, or more than one, starts with ``prefix``.
    """
    matches = sorted(CORPUS_PDFS.glob(f"{prefix}*.pdf"))
    if len(matches) != 1:
        raise LookupError(f"{len(matches)} corpus files start with {prefix!r}")
    return matches[0]
