"""Editing from the window: tools, creating, moving, restyling, replying, deleting, undo.

:class:`Editor` turns what the user does on the page view, in the Properties and Comments
panels and through the Edit menu into edits of the open document (each one undo step),
within what the token allows.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from lamina.client.errors import ClientError
from lamina.client.review_events import RecordFlags
from lamina.client.review_model import ActionRefusedError
from lamina.model.records import (
    Annotation,
    Comment,
    CommentMarkerAnnotation,
    NoteAnnotation,
    Record,
    Text,
    TextAnnotation,
)
from lamina.model.tools import MARKUP_DEFAULT_COLORS, ToolStyle, text_markup
from lamina.ui.actions import TOOL_LABELS
from lamina.ui.inline_editor import InlineTextEditor, type_text_over
from lamina.ui.properties_panel import restyled, style_of_record
from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication

if TYPE_CHECKING:
    from lamina.ui.main_window import MainWindow


def style_target(tool: str) -> str:
    """Return what the Properties panel says it edits while ``tool`` is active."""
    if tool in ("select", "text", "hand"):
        return "Select an annotation to change it, or pick a tool"
    if tool == "eraser":
        return "Drag over ink strokes to erase them"
    return f"New {TOOL_LABELS[tool].lower()} annotations"


class Editor(QObject):
    """The window's editing commands and what the token lets the user change.

    Args:
        window: the main window (its open document, page view, panels and status bar).

    Signals: none (edits go to the document; the window hears of them from it).
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.view = window.view
        self.inline_editor: InlineTextEditor | None = None
        """The in-place editor of a new free text or note while the user types."""

    # -- tools and style ---------------------------------------------------------------

    def set_tool(self, name: str) -> None:
        """Use tool ``name`` (``select``, ``ink``, ...); the Properties panel shows its style."""
        self.view.set_tool(name)
        self.window.tool_actions[name].setChecked(True)
        self.window.properties.show_style(self.view.style_for(name), style_target(name))

    def on_style_changed(self, style: ToolStyle) -> None:
        """Restyle the selected annotation, or else set the style of the current tool."""
        selected = self.selected_record()
        model = self.window.session
        if selected is not None and model is not None and self.can_edit(selected):
            after = restyled(selected, style)
            if after != selected:
                model.update(after, "change style")
            return
        self.view.set_style(self.view.tool, style)

    def show_tool_style(self) -> None:
        """Show the current tool's style in the Properties panel (when nothing is selected)."""
        if self.view.selected_id is None:
            tool = self.view.tool
            self.window.properties.show_style(self.view.style_for(tool), style_target(tool))

    def on_selection_changed(self, record_id: object) -> None:
        """Follow the page view's selection in the Comments and Properties panels."""
        window = self.window
        window.comments.select(record_id if isinstance(record_id, str) else None)
        selected = self.selected_record()
        model = window.session
        layer = model.layer_of(selected.id) if selected and model else None
        if layer is not None:
            window.statusBar().showMessage(f"Read-only: {layer} layer", 5000)
        if selected is not None:
            flags = self.flags(selected)
            window.properties.show_style(
                style_of_record(selected, window.properties.tool_style),
                "Selected annotation"
                if flags.edit
                else f"Selected annotation ({flags.reason.lower()})",
                editable=flags.edit,
            )
        else:
            tool = self.view.tool
            window.properties.show_style(self.view.style_for(tool), style_target(tool))
        window.update_actions()

    # -- reading -----------------------------------------------------------------------

    def selected_record(self) -> Annotation | None:
        """Return the annotation selected on the page view (None: nothing selected)."""
        if self.window.session is None or self.view.selected_id is None:
            return None
        record = self.find_record(self.view.selected_id)
        return record if isinstance(record, Annotation) else None

    def find_record(self, record_id: str) -> Record | None:
        """Return a record shown: the user's own, or one of another layer being viewed."""
        model = self.window.session
        found = model.find(record_id) if model is not None else None
        return found[1] if found is not None else None

    # -- creating and changing ---------------------------------------------------------

    def on_record_created(self, record: Annotation) -> None:
        """Add an annotation the user drew; a new free text or note first gets its text."""
        model = self.window.session
        if model is None:
            return
        record = dataclasses.replace(record, creator_name=self.window.creator_name())
        if isinstance(record, TextAnnotation | NoteAnnotation) and not record.text.value:
            self._type_text_of(record)
            return
        model.create(record)

    def _type_text_of(self, record: TextAnnotation | NoteAnnotation) -> None:
        self.finish_inline_edit()
        note = isinstance(record, NoteAnnotation)
        editor: InlineTextEditor | None = None

        def done(text: str) -> None:
            if self.inline_editor is editor:
                self.inline_editor = None
            model = self.window.session
            if model is None:
                return
            if not text:
                what = "note" if note else "free text"
                self.window.statusBar().showMessage(f"Empty {what} not added.", 4000)
                return
            model.create(dataclasses.replace(record, text=Text(text)))

        editor = type_text_over(self.view, record, done)
        self.inline_editor = editor

    def finish_inline_edit(self) -> None:
        """Keep the text being typed in place, if any (before opening or closing things)."""
        if self.inline_editor is not None:
            self.inline_editor.commit()

    def erase(self, record_ids: tuple[str, ...]) -> None:
        """Delete the strokes an eraser gesture went over, as one undo step."""
        model = self.window.session
        if model is None:
            return
        erasable = [rid for rid in record_ids if model.record(rid) is not None]
        if not erasable:
            return
        try:
            with model.step("erase"):
                for rid in erasable:
                    model.delete(rid, "erase")
        except ClientError as exc:
            self.window.statusBar().showMessage(f"Cannot erase: {exc}", 8000)

    def on_record_changed(self, before: Annotation, after: Annotation) -> None:
        """Keep a move or resize the user made on the page view."""
        if self.window.session is not None and self.can_edit(before):
            self.window.session.update(after, "move")

    def markup_selection(self, kind: str) -> None:
        """Turn the selected text into a highlight/underline/strikeout/squiggly annotation."""
        page, words = self.view.selected_words()
        model = self.window.session
        if model is None or page is None or not words:
            self.window.statusBar().showMessage(
                "Select some text first (Select text tool, T).", 5000
            )
            return
        style = dataclasses.replace(
            self.view.style_for(kind), creator_name=self.window.creator_name()
        )
        record = text_markup(kind, page, words, style, color=MARKUP_DEFAULT_COLORS[kind])  # type: ignore[arg-type]
        model.create(record, f"{kind} text")
        self.view.clear_text_selection()

    def copy_text(self) -> None:
        """Copy the selected text to the clipboard."""
        text = self.view.selected_text()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.window.statusBar().showMessage(f"Copied {len(text)} characters.", 3000)

    def delete_selected(self) -> None:
        """Delete the selected annotation (and its thread), if the token allows it."""
        record = self.selected_record()
        if record is not None:
            self.delete_id(record.id)

    def delete_id(self, record_id: str) -> None:
        """Delete a record of the user's layer (a thread with its comments), if allowed."""
        model = self.window.session
        if (
            model is not None
            and model.record(record_id) is not None
            and model.flags(record_id).delete
        ):
            model.delete(record_id)

    def undo(self) -> None:
        """Undo the user's last step."""
        model = self.window.session
        if model is not None and not model.undo():
            self.window.statusBar().showMessage("Nothing to undo.", 3000)

    def redo(self) -> None:
        """Redo the step undone last."""
        model = self.window.session
        if model is not None and not model.redo():
            self.window.statusBar().showMessage("Nothing to redo.", 3000)

    def reply(self, record_id: str, text: str) -> None:
        """Add a comment to the thread of a record (a comment's: its thread's root)."""
        model = self.window.session
        if model is None:
            return
        try:
            model.reply(record_id, text, self.window.creator_name())
        except ActionRefusedError as exc:
            self.window.statusBar().showMessage(str(exc), 6000)

    def edit_text(self, record_id: str, text: str) -> None:
        """Set the text of a comment, free text or note (or the note of another annotation)."""
        model = self.window.session
        record = model.record(record_id) if model is not None else None
        if model is None or record is None or not self.can_edit(record):
            return
        if isinstance(record, Comment | TextAnnotation | NoteAnnotation | CommentMarkerAnnotation):
            after: Record = dataclasses.replace(record, text=Text(text))
        elif isinstance(record, Annotation):
            after = dataclasses.replace(record, note=text)
        else:
            return
        model.update(after, "edit text")

    def follow_comments_pick(self, record_id: object) -> None:
        """Select on the page the annotation picked in the Comments list (keyboard too)."""
        model = self.window.session
        if not isinstance(record_id, str) or model is None:
            return
        record = model.thread_root(record_id)
        if record is None or self.view.selected_id == record.id:
            return
        self.view.scroll_to_rect(record.page_index, record.bbox)
        self.view.set_selected(record.id)

    def go_to_record(self, record_id: str) -> None:
        """Scroll to a record (a comment: its thread's annotation) and select it."""
        model = self.window.session
        record = model.thread_root(record_id) if model is not None else None
        if record is not None:
            self.view.scroll_to_rect(record.page_index, record.bbox)
            self.set_tool("select")
            self.view.set_selected(record.id)

    # -- permissions (decided by the review model) ---------------------------------------

    def flags(self, record: Record) -> RecordFlags:
        """Return what the user may do with a record shown, and why not."""
        model = self.window.session
        if model is None:
            return RecordFlags(False, False, False, "No document is open", "No document is open")
        return model.flags(record.id)

    def can_edit(self, record: Record) -> bool:
        """Return whether the user may change ``record``."""
        return self.flags(record).edit

    def delete_why_not(self) -> str | None:
        """Return why the selected annotation may not be deleted (None: it may, or none)."""
        selected = self.selected_record()
        if selected is None:
            return None
        flags = self.flags(selected)
        return None if flags.delete else flags.reason

    def update_comment_buttons(self) -> None:
        """Enable Reply / Edit text / Delete for the Comments panel's pick, per the token."""
        comments = self.window.comments
        current = comments.current_id()
        record = self.find_record(current) if current else None
        if record is None:
            comments.set_allowed(None, None, None)
            return
        flags = self.flags(record)
        comments.set_allowed(
            (flags.reply, flags.reply_reason),
            (flags.edit, flags.reason),
            (flags.delete, flags.reason),
        )
