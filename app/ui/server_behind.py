"""When the review server lost changes (restored from an older backup): ask what to do.

The client stops syncing and merges nothing (sync §3.4); this copy keeps every record as it
was. The dialog explains that and offers:

- **Keep my copy (re-upload)**: take the server's state, then send this copy's version of
  every record the server lost or has in an older version. Changes others made on the
  restored server stay.
- **Use the server's state**: show what the server has; what it lost leaves this copy
  (pending changes of the user still go out, as the client always sends its outbox).
- **Decide later**: stay disconnected with everything kept; reopening the review asks again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lamina.model.errors import LaminaError
from lamina.model.ids import RecordId
from lamina.model.records import Record
from PySide6.QtWidgets import QAbstractButton, QMessageBox

if TYPE_CHECKING:
    from lamina.ui.main_window import MainWindow

log = logging.getLogger(__name__)

KEEP_MINE = "Keep my copy (re-upload)"
USE_SERVER = "Use the server's state"
LATER = "Decide later"


def ask_server_behind(window: MainWindow, message: str) -> QMessageBox | None:
    """Show the "server lost changes" dialog over ``window`` (window-modal, not blocking).

    Returns the dialog, or None when there is no document any more.
    """
    model = window.session
    if model is None:
        return None
    mine: dict[RecordId, Record] = {r.id: r for r in model.records()}
    box = QMessageBox(window)
    box.setObjectName("serverBehindDialog")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("The server lost changes")
    box.setText(
        "The review server was restored from an older backup: it no longer has some changes "
        "this computer received from it before."
    )
    details = (
        f"Syncing has stopped and nothing was merged. Your copy ({len(mine)} records) is "
        "unchanged on this computer.\n\n"
    )
    details += (
        f"{KEEP_MINE}: send your version of everything the server lost, so the review "
        "is whole again (what others did on the restored server stays).\n\n"
        f"{USE_SERVER}: show what the server has now; what it lost leaves your copy.\n\n"
        f"{LATER}: stay offline with your copy kept; reopening the review asks again."
    )
    keep = box.addButton(KEEP_MINE, QMessageBox.ButtonRole.AcceptRole)
    keep.setObjectName("keepMineButton")
    use = box.addButton(USE_SERVER, QMessageBox.ButtonRole.DestructiveRole)
    use.setObjectName("useServerButton")
    later = box.addButton(LATER, QMessageBox.ButtonRole.RejectRole)
    later.setObjectName("decideLaterButton")
    box.setDefaultButton(keep)
    box.setInformativeText(details)
    box.setDetailedText(message)

    def chosen(button: QAbstractButton) -> None:
        if window.session is not model:
            return
        text = button.text()
        if text not in (KEEP_MINE, USE_SERVER):
            window.statusBar().showMessage(
                "Offline: the server lost changes; your copy is kept on this computer.", 10000
            )
            return
        try:
            model.document.adopt_server_state()
        except LaminaError as exc:
            window.show_error("Cannot resume syncing", str(exc))
            return
        # The client sets "online" when the next message arrives; announcing ourselves
        # again brings one at once even when nothing is pending.
        model.document.set_presence({"name": window.display_name(), "color": window.my_color()})
        if text == KEEP_MINE:
            count = model.restore(mine)
            window.statusBar().showMessage(f"Re-uploading {count} records to the server…", 8000)
        else:
            window.statusBar().showMessage("Showing the server's state.", 8000)

    box.buttonClicked.connect(chosen)
    box.open()
    return box
