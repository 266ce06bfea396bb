"""Standalone documents: a local PDF, no server; the same store, API, autosave and export."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lamina.client.document import AutosaveMode, LaminaDocument
from lamina.client.events import DocumentSaved, Event

from tests.client.conftest import STAMPS, PymupdfBackend, async_test, eventually, note
from tests.conftest import corpus_pdf

BACKEND = PymupdfBackend()


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    """A writable copy of the stamps PDF (five stamp annotations)."""
    path = tmp_path / "work" / "review.pdf"
    path.parent.mkdir()
    shutil.copyfile(corpus_pdf(STAMPS), path)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _texts(path: Path) -> list[str]:
    return sorted(
        r["text"]["value"] for r in BACKEND.read_base_records(path) if r["type"] == "pspdfkit/note"
    )


@async_test
async def test_work_survives_quitting_without_saving(pdf: Path, tmp_path: Path) -> None:
    original = _sha(pdf)
    doc = await LaminaDocument.open_local(pdf, pdf_backend=BACKEND, store_dir=tmp_path / "s")
    assert len(doc.records()) == 5
    edit = doc.create(note("unsaved idea"))
    assert doc.pending_count == 1
    await doc.close()
    assert _sha(pdf) == original  # nothing written into the PDF without a save

    again = await LaminaDocument.open_local(pdf, pdf_backend=BACKEND, store_dir=tmp_path / "s")
    record = again.record(edit.record_id)
    assert record is not None and record.text.value == "unsaved idea"  # type: ignore[attr-defined]
    assert again.pending_count == 1
    await again.close()


@async_test
async def test_save_writes_annotations_into_the_pdf_and_keeps_a_backup(
    pdf: Path, tmp_path: Path
) -> None:
    original = pdf.read_bytes()
    doc = await LaminaDocument.open_local(pdf, pdf_backend=BACKEND, store_dir=tmp_path / "s")
    events: list[Event] = []
    doc.subscribe(events.append)
    edit = doc.create(note("in the file"))
    stamp = next(r for r in doc.records() if r.type == "pspdfkit/stamp")
    doc.delete(stamp.id)
    waiting = asyncio.ensure_future(doc.ensure_changes_saved([edit.record_id]))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # autosave is off: nothing is saved before save()
    await doc.save()
    (saved,) = await waiting
    assert saved is not None and doc.pending_count == 0
    assert any(isinstance(e, DocumentSaved) for e in events)

    in_file = BACKEND.read_base_records(pdf)
    assert _texts(pdf) == ["in the file"]
    assert sum(r["type"] in ("pspdfkit/stamp", "pspdfkit/image") for r in in_file) == 4
    backup = pdf.with_name("review.orig.pdf")
    assert backup.read_bytes() == original

    # A second save rewrites from the original, so nothing doubles; the backup stays.
    doc.update(edit.record_id, {"text": {"format": "plain", "value": "edited"}})
    await doc.save()
    assert _texts(pdf) == ["edited"]
    again = BACKEND.read_base_records(pdf)
    assert sum(r["type"] in ("pspdfkit/stamp", "pspdfkit/image") for r in again) == 4
    assert backup.read_bytes() == original
    await doc.close()

    # Reopening the saved file shows the same records, with nothing pending.
    again = await LaminaDocument.open_local(pdf, pdf_backend=BACKEND, store_dir=tmp_path / "s")
    assert again.pending_count == 0
    assert len(again.records()) == 5
    await again.close()


@async_test
async def test_immediate_autosave_writes_the_file_after_each_change(
    pdf: Path, tmp_path: Path
) -> None:
    doc = await LaminaDocument.open_local(
        pdf, pdf_backend=BACKEND, store_dir=tmp_path / "s", autosave=AutosaveMode.IMMEDIATE
    )
    doc.create(note("autosaved"))
    await eventually(lambda: doc.pending_count == 0, what="autosave")
    assert _texts(pdf) == ["autosaved"]
    await doc.close()


@async_test
async def test_intelligent_autosave_saves_when_the_gesture_ends(pdf: Path, tmp_path: Path) -> None:
    doc = await LaminaDocument.open_local(
        pdf, pdf_backend=BACKEND, store_dir=tmp_path / "s", autosave=AutosaveMode.INTELLIGENT
    )
    with doc.gesture():
        edit = doc.create(note("dragging"))
        doc.update(edit.record_id, {"bbox": [200, 200, 32, 32]})
        await asyncio.sleep(0.05)
        assert doc.pending_count == 1 and _texts(pdf) == []
    await eventually(lambda: doc.pending_count == 0, what="save at gesture end")
    (record,) = [r for r in BACKEND.read_base_records(pdf) if r["type"] == "pspdfkit/note"]
    assert record["bbox"][0] == pytest.approx(200, abs=1)
    await doc.close()


@async_test
async def test_exports_show_what_the_user_sees(pdf: Path, tmp_path: Path) -> None:
    doc = await LaminaDocument.open_local(pdf, pdf_backend=BACKEND, store_dir=tmp_path / "s")
    stamps = [r for r in doc.records() if r.type == "pspdfkit/stamp"]
    doc.create(note("exported"))
    doc.delete(stamps[0].id)
    doc.update(stamps[1].id, {"opacity": 0.5})
    exported = doc.export_instant_json()
    assert [a["type"] for a in exported["annotations"]].count("pspdfkit/note") == 1
    assert "pdfObjectId" not in next(
        a for a in exported["annotations"] if a["type"] == "pspdfkit/note"
    )
    assert set(exported["skippedPdfObjectIds"]) == {
        stamps[0].pdf_object_id,
        stamps[1].pdf_object_id,
    }
    # Unchanged originals are not in the diff.
    assert len(exported["annotations"]) == 2

    out = tmp_path / "exported.pdf"
    await doc.export_pdf(out)
    assert _texts(out) == ["exported"]
    flat = tmp_path / "flat.pdf"
    await doc.export_pdf(flat, flatten=True)
    assert BACKEND.read_base_records(flat) == []  # burnt into the page
    await doc.close()


_SAVER = """
import asyncio, sys
from pathlib import Path
from lamina.client.document import LaminaDocument
from tests.client.conftest import PymupdfBackend, note

async def main():
    doc = await LaminaDocument.open_local(
        Path(sys.argv[1]), pdf_backend=PymupdfBackend(), store_dir=Path(sys.argv[2])
    )
    n = len([r for r in doc.records() if r.type == "pspdfkit/note"])
    while True:
        n += 1
        doc.create(note(f"note {n}"))
        await doc.save()
        print(n, flush=True)

asyncio.run(main())
"""


@pytest.mark.parametrize("kill_after_saves", [1, 3])
def test_killed_during_save_leaves_the_old_or_the_new_file(
    pdf: Path, tmp_path: Path, kill_after_saves: int
) -> None:
    store_dir = tmp_path / "s"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", _SAVER, str(pdf), str(store_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    last = 0
    for _ in range(kill_after_saves):
        last = int(child.stdout.readline())
    # Kill while the next save is being written (the loop saves back to back).
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    texts = _texts(pdf)  # opens: the file is a whole PDF
    assert texts in (
        sorted(f"note {i}" for i in range(1, last + 1)),
        sorted(f"note {i}" for i in range(1, last + 2)),
    )

    async def reopen() -> None:
        doc = await LaminaDocument.open_local(pdf, pdf_backend=BACKEND, store_dir=store_dir)
        notes = sorted(
            r.text.value  # type: ignore[attr-defined]
            for r in doc.records()
            if r.type == "pspdfkit/note"
        )
        # The store and the file agree after the crash: no note lost, none doubled.
        assert notes[: len(texts)] == texts
        assert len(notes) == len(set(notes))
        await doc.save()
        assert _texts(pdf) == notes
        await doc.close()

    asyncio.run(reopen())


@async_test
async def test_a_save_that_fails_leaves_no_backup_and_keeps_the_changes(tmp_path: Path) -> None:
    # The PDF's security settings forbid annotating: writing fails, and nothing on disk changes.
    pdf = tmp_path / "locked.pdf"
    shutil.copyfile(corpus_pdf("encrypted-aes256-owner-only-no-annotate"), pdf)
    original = _sha(pdf)
    doc = await LaminaDocument.open_local(pdf, pdf_backend=BACKEND, store_dir=tmp_path / "s")
    doc.create(note("cannot go into this file"))
    with pytest.raises(Exception, match="annotat"):
        await doc.save()
    assert _sha(pdf) == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locked.pdf", "s"]  # no .orig.pdf
    assert doc.pending_count == 1  # the change is still kept in the local store
    await doc.close()
