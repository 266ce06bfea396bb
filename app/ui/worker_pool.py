"""The application's render worker pool: one spare worker process for the next document.

:func:`application_workers` returns the :class:`~lamina.pdf.render_worker.WorkerPool` that
belongs to the running ``QCoreApplication`` (made on first use, stopped when it quits). A
worker the desktop command started before importing Qt
(:func:`lamina.pdf.render_worker.start_spare_early`) becomes its first spare.
"""

from __future__ import annotations

from lamina.pdf.render_worker import WorkerPool, take_early_spare
from PySide6.QtCore import QCoreApplication, QObject


class _WorkerPoolOwner(QObject):
    """Holds the application's render worker pool and stops it when the application quits."""

    NAME = "laminaRenderWorkers"

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.setObjectName(self.NAME)
        self.pool = WorkerPool()
        app.aboutToQuit.connect(self.pool.stop)


def application_workers() -> WorkerPool:
    """Return the running application's render worker pool (made on first use).

    The pool belongs to the ``QCoreApplication``: one spare worker for every window, stopped
    when the application quits (or, failing that, when the interpreter exits).

    Raises:
        RuntimeError: no Qt application is running.
    """
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("render workers belong to the Qt application, and none is running")
    owner = app.findChild(_WorkerPoolOwner, _WorkerPoolOwner.NAME)
    if owner is None:
        owner = _WorkerPoolOwner(app)
    early = take_early_spare()
    if early is not None:
        owner.pool.offer(early)  # started before Qt was imported: the first document's
    return owner.pool
