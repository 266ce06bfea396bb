"""The Qt bridge: every review model event comes out as its own signal, carrying the event."""

from __future__ import annotations

import shutil
import typing
from pathlib import Path

from lamina.client.review_events import (
    LayerVisibilityChanged,
    RecordsChanged,
    ReviewEvent,
    UndoChanged,
)
from lamina.client.review_model import ReviewModel
from lamina.model.geometry import Rect
from lamina.model.ids import new_record_id
from lamina.model.records import NoteAnnotation
from lamina.ui.bridge import ReviewBridge
from lamina.ui.documents import OpenDocuments

from tests.conftest import corpus_pdf
from tests.ui.conftest import run


def open_model(qtbot, tmp_path: Path, documents: OpenDocuments) -> ReviewModel:  # type: ignore[no-untyped-def]
    pdf = tmp_path / "stamps.pdf"
    shutil.copyfile(corpus_pdf("annot-stamps-acrobat"), pdf)
    return ReviewModel(run(qtbot, documents.open_local(pdf)))


def test_each_model_event_type_has_a_signal_of_its_own(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    documents = OpenDocuments()
    model = open_model(qtbot, tmp_path, documents)
    bridge = ReviewBridge(model)
    try:
        signals = [bridge.signal_for(kind) for kind in typing.get_args(ReviewEvent)]
        assert len(signals) == len(typing.get_args(ReviewEvent)) == 14
        assert len({str(s) for s in signals}) == len(signals)  # no two types share one
    finally:
        bridge.close()
        model.close()
        documents.close_later(model.document)
        run(qtbot, documents.wait_closed())


def test_an_edit_comes_out_with_the_ids_it_changed_and_undo_names_it(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    documents = OpenDocuments()
    model = open_model(qtbot, tmp_path, documents)
    bridge = ReviewBridge(model)
    note = NoteAnnotation(id=new_record_id(), page_index=0, bbox=Rect(10, 10, 32, 32))
    try:
        with (
            qtbot.waitSignal(bridge.records_changed) as changed,
            qtbot.waitSignal(bridge.undo_changed) as undo,
        ):
            model.create(note, "add note")
        assert changed.args == [RecordsChanged(added=(note.id,), origin="local")]
        assert undo.args == [UndoChanged(True, False, "add note", None)]
        own = model.own_layer
        with qtbot.waitSignal(bridge.layer_visibility_changed) as hidden:
            model.hide_layer(own)
        assert hidden.args == [LayerVisibilityChanged(own, False)]

        # After close, nothing more is relayed.
        bridge.close()
        with qtbot.assertNotEmitted(bridge.records_changed):
            model.delete(note.id)
    finally:
        model.close()
        documents.close_later(model.document)
        run(qtbot, documents.wait_closed())
