"""Editing from the window: tools, creating, moving, restyling, replying, deleting, undo.

:class:`Editor` turns what the user does on the page view, in the Properties and Comments
panels and through the Edit menu into edits of the open document (each one undo step),
within what the token allows.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from lamina.auth.permissions import RecordMeta
from lamina.model.errors import LaminaError
from lamina.model.ids import RecordId, new_record_id
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
    if tool in ("select", "text"):
        return "Select an annotation to change it, or pick a tool"
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
        session = self.window.session
        if selected is not None and session is not None and self.can_edit(selected):
            after = restyled(selected, style)
            if after != selected:
                session.update(selected, after, "change style")
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
        session = window.session
        layer = session.layer_of_id(selected.id) if selected and session else None
        if layer is not None:
            window.statusBar().showMessage(f"Read-only: {layer} layer", 5000)
        if selected is not None:
            editable, _delete, why = self.record_flags(selected)
            window.properties.show_style(
                style_of_record(selected, window.properties.tool_style),
                "Selected annotation" if editable else f"Selected annotation ({why.lower()})",
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
        session = self.window.session
        if session is None:
            return None
        record = session.get(RecordId(record_id))
        if record is None:
            found = session.layer_record(record_id)
            record = found[1] if found is not None else None
        return record

    # -- creating and changing ---------------------------------------------------------

    def on_record_created(self, record: Annotation) -> None:
        """Add an annotation the user drew; a new free text or note first gets its text."""
        session = self.window.session
        if session is None:
            return
        record = dataclasses.replace(record, creator_name=self.window.creator_name())
        if isinstance(record, TextAnnotation | NoteAnnotation) and not record.text.value:
            self._type_text_of(record)
            return
        session.create(record)

    def _type_text_of(self, record: TextAnnotation | NoteAnnotation) -> None:
        self.finish_inline_edit()
        note = isinstance(record, NoteAnnotation)
        editor: InlineTextEditor | None = None

        def done(text: str) -> None:
            if self.inline_editor is editor:
                self.inline_editor = None
            session = self.window.session
            if session is None:
                return
            if not text:
                what = "note" if note else "free text"
                self.window.statusBar().showMessage(f"Empty {what} not added.", 4000)
                return
            session.create(dataclasses.replace(record, text=Text(text)))

        editor = type_text_over(self.view, record, done)
        self.inline_editor = editor

    def finish_inline_edit(self) -> None:
        """Keep the text being typed in place, if any (before opening or closing things)."""
        if self.inline_editor is not None:
            self.inline_editor.commit()

    def on_record_changed(self, before: Annotation, after: Annotation) -> None:
        """Keep a move or resize the user made on the page view."""
        if self.window.session is not None:
            self.window.session.update(before, after, "move")

    def markup_selection(self, kind: str) -> None:
        """Turn the selected text into a highlight/underline/strikeout/squiggly annotation."""
        page, words = self.view.selected_words()
        session = self.window.session
        if session is None or page is None or not words:
            self.window.statusBar().showMessage(
                "Select some text first (Select text tool, T).", 5000
            )
            return
        style = dataclasses.replace(
            self.view.style_for(kind), creator_name=self.window.creator_name()
        )
        record = text_markup(kind, page, words, style, color=MARKUP_DEFAULT_COLORS[kind])  # type: ignore[arg-type]
        session.create(record, f"{kind} text")
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
        """Delete a record of the user's layer, if the token allows it."""
        session = self.window.session
        if session is None:
            return
        record = session.get(RecordId(record_id))
        if record is not None and self.can_delete(record):
            session.delete(record)

    def undo(self) -> None:
        """Undo the user's last step."""
        session = self.window.session
        if session is not None and not session.undo():
            self.window.statusBar().showMessage("Nothing to undo.", 3000)

    def redo(self) -> None:
        """Redo the step undone last."""
        session = self.window.session
        if session is not None and not session.redo():
            self.window.statusBar().showMessage("Nothing to redo.", 3000)

    def reply(self, root_id: str, text: str) -> None:
        """Add a comment to the thread of a record (a comment's: its thread's root)."""
        session = self.window.session
        if session is None:
            return
        root = session.get(RecordId(root_id))
        if isinstance(root, Comment):
            root_id = root.root_id
            root = session.get(RecordId(root_id))
        if not isinstance(root, Annotation):
            return
        allowed, why = self.may_reply(root)
        if not allowed:
            self.window.statusBar().showMessage(why, 6000)
            return
        if not root.is_comment_thread_root and self.can_edit(root):
            session.update(
                root, dataclasses.replace(root, is_comment_thread_root=True), "start thread"
            )
        comment = Comment(
            id=new_record_id(),
            root_id=RecordId(root_id),
            page_index=root.page_index,
            text=Text(text),
            creator_name=self.window.creator_name(),
        )
        session.create(comment, "reply")

    def edit_text(self, record_id: str, text: str) -> None:
        """Set the text of a comment, free text or note (or the note of another annotation)."""
        session = self.window.session
        if session is None:
            return
        record = session.get(RecordId(record_id))
        if record is None or not self.can_edit(record):
            return
        if isinstance(record, Comment | TextAnnotation | NoteAnnotation | CommentMarkerAnnotation):
            after: Record = dataclasses.replace(record, text=Text(text))
        elif isinstance(record, Annotation):
            after = dataclasses.replace(record, note=text)
        else:
            return
        session.update(record, after, "edit text")

    def go_to_record(self, record_id: str) -> None:
        """Scroll to a record (a comment: its thread's annotation) and select it."""
        record = self.find_record(record_id)
        if isinstance(record, Comment):
            record = self.find_record(record.root_id)
        if isinstance(record, Annotation):
            self.view.scroll_to_rect(record.page_index, record.bbox)
            self.set_tool("select")
            self.view.set_selected(record.id)

    # -- permissions -------------------------------------------------------------------

    def record_meta(self, record: Annotation | Comment) -> RecordMeta:
        """Return what the permission rules need to know about a record.

        The creator id (the token ``user_id`` the server stamped) and group come from the
        client's ``record_meta(record_id)``; when it has none, a record the user created in
        this window is known to be theirs, and other records have no creator id.
        """
        session = self.window.session
        if session is not None:
            try:
                return session.client.record_meta(record.id)
            except (LaminaError, KeyError):
                pass
        claims = self.window.claims
        created_here = session is not None and record.id in session.created_here
        return RecordMeta(
            kind="comment" if isinstance(record, Comment) else "annotation",
            record_type=record.type,
            creator_id=claims.user_id if claims is not None and created_here else None,
            creator_name=record.creator_name,
            group=getattr(record, "group", None),
        )

    def record_flags(self, record: object) -> tuple[bool, bool, str]:
        """Return (may edit, may delete, why not) for a record, per the token's permissions."""
        window = self.window
        layer = self._other_layer_of(record)
        if layer is not None:
            return False, False, f"Read-only: {layer} layer"
        if self.view.read_only:
            return False, False, f"Read-only: {window.read_only_reason or 'this document'}"
        if window.permissions is None or not isinstance(record, Annotation | Comment):
            return True, True, ""
        flags = window.permissions.record_flags(self.record_meta(record))
        return flags.edit, flags.delete, "" if flags.edit and flags.delete else _why_not(record)

    def may_reply(self, record: object) -> tuple[bool, str]:
        """Return whether the user may reply to the thread of ``record``, and why not."""
        window = self.window
        layer = self._other_layer_of(record)
        if layer is not None:
            return False, f"Read-only: {layer} layer"
        if self.view.read_only:
            return False, f"Read-only: {window.read_only_reason or 'this document'}"
        if window.session is not None and isinstance(record, Comment):
            record = window.session.get(record.root_id)
        if not isinstance(record, Annotation):
            return False, "Select an annotation to reply to"
        if window.permissions is None:
            return True, ""
        if window.permissions.record_flags(self.record_meta(record)).reply:
            return True, ""
        return False, "Your invite does not allow replying to this thread"

    def _other_layer_of(self, record: object) -> str | None:
        session = self.window.session
        if session is None or not isinstance(record, Annotation | Comment):
            return None
        return session.layer_of_id(record.id)

    def can_edit(self, record: object) -> bool:
        """Return whether the user may change ``record``."""
        return self.record_flags(record)[0]

    def can_delete(self, record: object) -> bool:
        """Return whether the user may delete ``record``."""
        return self.record_flags(record)[1]

    def delete_why_not(self) -> str | None:
        """Return why the selected annotation may not be deleted (None: it may, or none)."""
        selected = self.selected_record()
        if selected is None or self.can_delete(selected):
            return None
        return self.record_flags(selected)[2]

    def update_comment_buttons(self) -> None:
        """Enable Reply / Edit text / Delete for the Comments panel's pick, per the token."""
        comments = self.window.comments
        current = comments.current_id()
        record = self.find_record(current) if current else None
        if not isinstance(record, Annotation | Comment):
            comments.set_allowed(None, None, None)
            return
        edit, delete, why = self.record_flags(record)
        comments.set_allowed(self.may_reply(record), (edit, why), (delete, why))


def _why_not(record: Annotation | Comment) -> str:
    who = f"{record.creator_name}'s" if record.creator_name else "this"
    what = "comment" if isinstance(record, Comment) else "annotation"
    return f"Your invite does not allow changing {who} {what}"
