"""Words and search in Instant coordinates."""

from __future__ import annotations

from lamina.pdf import open_pdf, page_words, search_page

from tests.conftest import corpus_pdf


def test_words_of_a_rotated_page_are_in_instant_space() -> None:
    with open_pdf(corpus_pdf("geometry-rotations")) as doc:
        for index in range(8):
            info = doc.page_info(index)
            words = page_words(doc, index)
            assert any(w.text.startswith("Rotate") for w in words)
            for word in words:
                assert 0 <= word.rect.left < word.rect.right <= info.width + 1
                assert 0 <= word.rect.top < word.rect.bottom <= info.height + 1


def test_search_finds_each_hit_with_one_rect_per_line() -> None:
    with open_pdf(corpus_pdf("long-352p")) as doc:
        words = page_words(doc, 10)
        hits = search_page(doc, 10, words[3].text.upper())
        assert hits and all(len(hit) == 1 for hit in hits)
        assert any(hit[0] == words[3].rect for hit in hits)
        # A phrase across a line break gives two rectangles, one per line.
        last_of_line = next(
            i
            for i in range(len(words) - 1)
            if (words[i].block_no, words[i].line_no)
            != (words[i + 1].block_no, words[i + 1].line_no)
            and words[i].block_no == words[i + 1].block_no
        )
        phrase = f"{words[last_of_line].text}  {words[last_of_line + 1].text}"
        spanning = search_page(doc, 10, phrase)
        assert any(len(hit) == 2 for hit in spanning)
        assert search_page(doc, 10, "no such phrase zzqx") == []
        assert search_page(doc, 10, "   ") == []


def test_scan_without_text_layer_has_no_words() -> None:
    with open_pdf(corpus_pdf("scanned-book-page-image-only")) as doc:
        assert page_words(doc, 0) == []
