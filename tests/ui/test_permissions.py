"""Token-aware actions: a student may reply to the teacher's annotation but not change it.

Tokens are minted with the hosted server's key; the server enforces the same rules, so
what the window offers is what the server accepts.
"""

from __future__ import annotations

from lamina.auth.invite import make_invite_link
from lamina.auth.tokens import mint_token
from lamina.model.records import Comment, InkAnnotation
from lamina.ui.controller import AppController
from lamina.ui.hosting import LocalReviewServer
from lamina.ui.main_window import MainWindow
from PySide6.QtCore import Qt

from tests.ui.test_review import PDF, inks, joined_window, run, stroke

STUDENT_RULES = (
    "annotations:view:all",
    "annotations:edit:self",
    "annotations:delete:self",
    "comments:view:all",
    "comments:reply:all",
    "comments:edit:self",
    "comments:delete:self",
)


def pick_in_comments(qtbot, window: MainWindow, record_id: str) -> None:  # type: ignore[no-untyped-def]
    """Click the record's row in the Comments panel (it also selects it on the page)."""
    rect = window.comments.row_rect(record_id)
    if rect is None:
        raise AssertionError(f"{record_id} is not in the comments panel")
    table = window.comments.table
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.comments.current_id() == record_id


def test_student_may_reply_to_the_teachers_annotation_but_not_delete_it(
    qtbot, controller: AppController, server: LocalReviewServer
) -> None:
    document_id = run(qtbot, server.add_document(PDF))
    assert server.keypair is not None
    rw = ("read-document", "write", "download")

    def link(user: str, name: str, rules: tuple[str, ...] | None) -> str:
        token = mint_token(
            server.keypair,  # type: ignore[arg-type]
            document_id=document_id,
            permissions=rw,
            user_id=user,
            creator_name=name,
            collaboration_permissions=rules,
        )
        return make_invite_link(server.url, token)

    teacher = joined_window(qtbot, controller, link("t1", "Ms Tan", None), "Ms Tan")
    student = joined_window(qtbot, controller, link("s1", "Sam", STUDENT_RULES), "Sam")
    stroke(qtbot, teacher, [(100, 400), (150, 420), (200, 480)])
    qtbot.waitUntil(lambda: len(inks(student)) == 1, timeout=10000)
    (theirs,) = inks(student)

    # The teacher's ink: Delete is greyed out with the reason; reply is offered.
    pick_in_comments(qtbot, student, theirs.id)
    assert student.view.selected_id == theirs.id
    assert not student.delete_action.isEnabled()
    assert "does not allow changing Ms Tan's annotation" in student.delete_action.toolTip()
    panel = student.comments
    assert not panel.delete_button.isEnabled()
    assert "Ms Tan" in panel.delete_button.toolTip()
    assert not panel.edit_button.isEnabled()
    assert panel.reply_button.isEnabled()
    qtbot.keyClick(student.view, Qt.Key.Key_Delete)  # does nothing
    assert len(inks(student)) == 1

    panel.text.setPlainText("Why this line?")
    qtbot.mouseClick(panel.reply_button, Qt.MouseButton.LeftButton)

    def teacher_comments() -> list[Comment]:
        s = teacher.session
        return [r for r in s.records() if isinstance(r, Comment)] if s else []

    qtbot.waitUntil(lambda: len(teacher_comments()) == 1, timeout=10000)
    assert teacher_comments()[0].text.value == "Why this line?"
    assert teacher_comments()[0].creator_name == "Sam"
    assert "Change refused" not in student.statusBar().currentMessage()

    # The student's own ink: everything allowed, and the delete reaches the teacher.
    stroke(qtbot, student, [(300, 300), (350, 340)])
    mine = next(i for i in inks(student) if i.id != theirs.id)
    qtbot.waitUntil(lambda: len(inks(teacher)) == 2, timeout=10000)
    pick_in_comments(qtbot, student, mine.id)
    assert student.delete_action.isEnabled()
    assert panel.delete_button.isEnabled() and panel.edit_button.isEnabled()
    # The shortcut goes to the active window, as it does for a user typing in it.
    student.activateWindow()
    qtbot.waitUntil(student.isActiveWindow)
    qtbot.keyClick(student.view, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: [i.id for i in inks(teacher)] == [theirs.id], timeout=10000)
    assert all(isinstance(i, InkAnnotation) for i in inks(student))
