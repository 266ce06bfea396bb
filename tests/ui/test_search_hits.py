"""Search and text selection (issue 14, defect 9): a hit highlights only the characters
matched ("trace" inside "traces"; a two-character CJK hit), and copying vertical Japanese
gives the characters without spaces between them."""

from __future__ import annotations

import pymupdf
from lamina.model.geometry import Rect
from lamina.pdf import open_pdf, search_page
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from tests.support.corpus import corpus_pdf
from tests.ui.conftest import open_file


def _text_in(path, page: int, rect: Rect) -> str:  # type: ignore[no-untyped-def]
    """The text MuPDF finds inside ``rect`` (Instant space is its page space on these pages)."""
    box = pymupdf.Rect(rect.left, rect.top, rect.right, rect.bottom)
    return str(pymupdf.open(path)[page].get_textbox(box)).strip()


def test_a_hit_inside_a_longer_word_covers_only_the_match() -> None:
    path = corpus_pdf("annot-all-markup-types")
    with open_pdf(path) as doc:
        hits = search_page(doc, 0, "trace")
    words = [w for w in pymupdf.open(path)[0].get_text("words") if w[4].startswith("traces")]
    assert len(hits) >= 5 and words
    inside_traces = 0
    for (rect,) in hits:
        text = _text_in(path, 0, rect).casefold()
        assert text.startswith("trace") and "traces" not in text, text
        inside_traces += any(
            w[0] - 1 <= rect.left and rect.right <= w[2] + 1 and w[1] - 1 <= rect.top for w in words
        )
    assert inside_traces >= 1  # a hit in "traces" covers "trace" only


def test_a_cjk_hit_covers_its_characters_not_the_line() -> None:
    path = corpus_pdf("cjk-chinese-22p")
    with open_pdf(path) as doc:
        hits = search_page(doc, 0, "电气")
    assert hits
    for (rect,) in hits:
        assert _text_in(path, 0, rect) == "电气"
        assert rect.width < 3 * rect.height  # two characters, not the whole line


def test_copying_vertical_japanese_has_no_spaces(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    open_file(qtbot, window, corpus_pdf("cjk-japanese-vertical"))
    view = window.view
    words = view.words_of(0)
    view._text_page = 0
    view._text_selected = list(range(6))
    text = view.selected_text()
    assert text == "".join(w.text for w in words[:6])
    assert " " not in text


def test_dragging_down_one_column_of_vertical_japanese_selects_that_column_only(  # type: ignore[no-untyped-def]
    qtbot, window
) -> None:
    """Drag with the text tool from the top of one column to below its end (the columns
    have different lengths): only that column's characters are selected, and Copy gives
    them without spaces."""
    open_file(qtbot, window, corpus_pdf("cjk-japanese-vertical"))
    window.resize(1000, 760)
    window.show()
    view = window.view
    view.set_zoom(0.5)
    view.go_to_page(0)
    window.tool_actions["text"].trigger()
    words = view.words_of(0)
    columns: dict[float, list[int]] = {}
    for i, w in enumerate(words):
        if abs(w.rect.width - 30) < 1 and abs(w.rect.height - 30) < 1:  # the columns' 30 pt
            columns.setdefault(round(w.rect.left), []).append(i)
    assert len(columns) == 9
    longest = max(words[c[-1]].rect.bottom for c in columns.values())
    vp = view.viewport()
    for column in columns.values():
        first, last = words[column[0]].rect, words[column[-1]].rect
        x = first.left + first.width / 2
        start = page_rect_center(view, 0, (x, first.top + 3))
        end = page_rect_center(view, 0, (x, max(last.bottom + 10, longest + 5)))
        qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(vp, (start + end) / 2)
        qtbot.mouseMove(vp, end)
        qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)
        page, selected = view.selected_words()
        assert page == 0
        assert [words.index(w) for w in selected] == column
        window.window_actions.copy_action.trigger()
        copied = QGuiApplication.clipboard().text()
        assert copied == "".join(words[i].text for i in column)
        assert " " not in copied
