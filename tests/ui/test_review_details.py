"""Issue 14 defect 11 in a live review: read-only Properties, and where exports go."""

from __future__ import annotations

from pathlib import Path

import pytest
from lamina.ui import files
from lamina.ui.controller import AppController
from lamina.ui.hosting import PRESETS_BY_KEY, LocalReviewServer
from lamina.ui.main_window import MainWindow

from tests.conftest import corpus_pdf
from tests.ui.conftest import run
from tests.ui.test_review import joined_window

STAMPS = corpus_pdf("annot-stamps-acrobat")


def test_properties_are_read_only_for_what_the_token_may_not_edit(
    qtbot, controller: AppController, server: LocalReviewServer
) -> None:
    document_id = run(qtbot, server.add_document(STAMPS))
    viewer = joined_window(
        qtbot, controller, server.invite(document_id, PRESETS_BY_KEY["viewer"], name="Vi"), "Vi"
    )
    assert viewer.session is not None
    stamp = viewer.session.annotations()[0]
    viewer.view.set_selected(stamp.id)
    panel = viewer.properties
    assert "read-only" in panel.target.text().lower()
    assert not panel.width_box.isEnabled() and not panel.color_button.isEnabled()
    assert not panel.opacity.isEnabled()

    lead = joined_window(
        qtbot, controller, server.invite(document_id, PRESETS_BY_KEY["lead"], name="Le"), "Le"
    )
    assert lead.session is not None
    lead.view.set_selected(lead.session.annotations()[0].id)
    assert lead.properties.width_box.isEnabled() and lead.properties.color_button.isEnabled()


def test_export_in_a_review_proposes_documents_and_the_title_not_the_cache(
    qtbot,
    controller: AppController,
    server: LocalReviewServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home-dir"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    document_id = run(qtbot, server.add_document(STAMPS))
    window: MainWindow = joined_window(
        qtbot, controller, server.invite(document_id, PRESETS_BY_KEY["lead"], name="Le"), "Le"
    )
    proposed = files.export_suggestion(window, ".annotated.pdf")
    assert proposed.parent == home / "Documents"
    assert window.pdf_path is not None and window.pdf_path.stem not in proposed.name
    title = window.pdf.title if window.pdf is not None else ""
    assert proposed.name == files.safe_file_name(title or window.title) + ".annotated.pdf"
    assert "/" not in proposed.name[:-4] and proposed.name.endswith(".annotated.pdf")


def test_safe_file_name_keeps_a_title_readable_and_harmless() -> None:
    assert files.safe_file_name("Q3 report: draft/2") == "Q3 report- draft-2"
    assert files.safe_file_name("  ..  ") == "review"
    assert len(files.safe_file_name("x" * 300)) == 80
