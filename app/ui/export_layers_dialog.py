"""The dialog of File → Export → Merged PDF of chosen layers."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget


class ExportLayersDialog(QDialog):
    """Pick the layers to merge into one exported PDF, and whether to flatten it.

    Args:
        layers: ``(layer, label, checked, enabled)`` rows; the first is the user's own layer
            (always exported: the PDF's annotations come from it).
    """

    def __init__(
        self, layers: Sequence[tuple[str, str, bool, bool]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("exportLayersDialog")
        self.setWindowTitle("Export merged PDF of chosen layers")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Merge these layers' annotations into one PDF:"))
        self.boxes: dict[str, QCheckBox] = {}
        for layer, label, checked, enabled in layers:
            box = QCheckBox(label)
            box.setObjectName(f"exportLayer_{layer}")
            box.setChecked(checked)
            box.setEnabled(enabled)
            if not enabled:
                box.setToolTip("Your layer is always in the export (it carries the PDF's own)")
            layout.addWidget(box)
            self.boxes[layer] = box
        self.flatten = QCheckBox("Flatten (burn the annotations into the pages)")
        self.flatten.setObjectName("exportFlatten")
        layout.addWidget(self.flatten)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def chosen(self) -> list[str]:
        """Return the checked layers (the user's own included)."""
        return [layer for layer, box in self.boxes.items() if box.isChecked()]
