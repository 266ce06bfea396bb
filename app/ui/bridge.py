"""The one Qt bridge over the Qt-free review model: each model event becomes a Qt signal.

:class:`ReviewBridge` subscribes to a :class:`~lamina.client.review_model.ReviewModel` and
re-emits every event of :mod:`lamina.client.review_events` as the signal of its type, with the
event itself as the argument: it names the ids that changed, so a panel updates only those
and reads the rest from the model. Model events arrive on the event loop's thread, which is
the GUI thread (qasync), so the signals are emitted directly.
"""

from __future__ import annotations

from collections.abc import Callable

from lamina.client.review_events import (
    ChangeRefused,
    ConflictsChanged,
    ConnectionChanged,
    LayerRecordsChanged,
    LayersListed,
    LayerVisibilityChanged,
    PdfSaved,
    PeersChanged,
    PendingChanged,
    ReadOnlyChanged,
    RecordsChanged,
    ReviewEvent,
    ServerFellBehind,
    ThreadsChanged,
    UndoChanged,
)
from lamina.client.review_model import ReviewModel
from PySide6.QtCore import QObject, Signal, SignalInstance


class ReviewBridge(QObject):
    """Re-emit a review model's events as Qt signals, each carrying its event.

    Args:
        model: the review model of the open document; the bridge subscribes at once and
            :meth:`close` unsubscribes.

    Signals:
        records_changed(RecordsChanged): records of the user's layer were added, changed or
            removed (their ids; ``origin`` local or remote).
        layer_visibility_changed(LayerVisibilityChanged): a layer was shown or hidden.
        layer_records_changed(LayerRecordsChanged): records of another layer being viewed
            read-only changed (their ids).
        threads_changed(ThreadsChanged): comments of these threads changed (root ids).
        connection_changed(ConnectionChanged): the connection's state and why.
        pending_changed(PendingChanged): how many changes are not saved yet.
        peers_changed(PeersChanged): who else is connected.
        conflicts_changed(ConflictsChanged): conflict entries added or removed (their ids).
        undo_changed(UndoChanged): what Undo and Redo would do.
        change_refused(ChangeRefused): the server refused one of the user's changes.
        server_fell_behind(ServerFellBehind): the server lost changes; syncing stopped.
        pdf_saved(PdfSaved): a local PDF's annotations were written into the file.
        read_only_changed(ReadOnlyChanged): the document became read-only, or editable.
        layers_listed(LayersListed): the server listed the layers this token may view.
    """

    records_changed = Signal(RecordsChanged)
    layer_visibility_changed = Signal(LayerVisibilityChanged)
    layer_records_changed = Signal(LayerRecordsChanged)
    threads_changed = Signal(ThreadsChanged)
    connection_changed = Signal(ConnectionChanged)
    pending_changed = Signal(PendingChanged)
    peers_changed = Signal(PeersChanged)
    conflicts_changed = Signal(ConflictsChanged)
    undo_changed = Signal(UndoChanged)
    change_refused = Signal(ChangeRefused)
    server_fell_behind = Signal(ServerFellBehind)
    pdf_saved = Signal(PdfSaved)
    read_only_changed = Signal(ReadOnlyChanged)
    layers_listed = Signal(LayersListed)

    def __init__(self, model: ReviewModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._signals: dict[type, SignalInstance] = {
            RecordsChanged: self.records_changed,
            LayerVisibilityChanged: self.layer_visibility_changed,
            LayerRecordsChanged: self.layer_records_changed,
            ThreadsChanged: self.threads_changed,
            ConnectionChanged: self.connection_changed,
            PendingChanged: self.pending_changed,
            PeersChanged: self.peers_changed,
            ConflictsChanged: self.conflicts_changed,
            UndoChanged: self.undo_changed,
            ChangeRefused: self.change_refused,
            ServerFellBehind: self.server_fell_behind,
            PdfSaved: self.pdf_saved,
            ReadOnlyChanged: self.read_only_changed,
            LayersListed: self.layers_listed,
        }
        self._unsubscribe: Callable[[], None] | None = model.subscribe(self._relay)

    def signal_for(self, event_type: type) -> SignalInstance:
        """Return the signal that carries the model's events of ``event_type``.

        Raises:
            KeyError: the model reports no such event.
        """
        return self._signals[event_type]

    def _relay(self, event: ReviewEvent) -> None:
        self._signals[type(event)].emit(event)

    def close(self) -> None:
        """Stop relaying: no signal is emitted any more (the model stays open)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
