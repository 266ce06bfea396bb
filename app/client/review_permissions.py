"""What a review window lets the user do with a record, and the reason it shows when not.

:func:`record_flags` decides with the one permission evaluator of :mod:`lamina.auth`, fed the
document's ``record_meta`` (built by the one builder the server uses too), and runs the very
checks the server runs on the change (``check_update``, ``check_delete``, ``check_create`` of
a comment joining the thread), so a flag is refused exactly when the server would refuse the
change, and ``*_denied`` carries the server's words.
"""

from __future__ import annotations

from collections.abc import Callable

from lamina.auth.errors import PermissionDenied
from lamina.auth.permissions import PermissionEvaluator, RecordMeta
from lamina.client.review_events import RecordFlags
from lamina.model.records import Annotation, Comment, Record

NO_WRITE_REASON = "this invite lets you view, not edit (no write permission)"
"""Why a review whose token lacks ``write`` is read-only, as the window says it."""

GONE_REASON = "This record no longer exists"
NO_ROOT_REASON = "Select an annotation to reply to"
NO_REPLY_REASON = "Your invite does not allow replying to this thread"


def record_flags(
    record: Record | None,
    *,
    layer: str | None,
    root: Annotation | None,
    root_layer: str | None,
    read_only: str | None,
    evaluator: PermissionEvaluator,
    meta_of: Callable[[str], RecordMeta],
) -> RecordFlags:
    """Return what the user may do with ``record``, and why not.

    Args:
        record: the record shown (None: it is gone).
        layer: the other layer it is on (read-only), None for the user's own.
        root: the annotation its thread hangs on (itself, or a comment's root), if shown.
        root_layer: the other layer ``root`` is on, None for the user's own.
        read_only: why the whole document is read-only, None when it is not.
        evaluator: the token's permissions.
        meta_of: the document's ``record_meta`` (records of the user's layer only).
    """
    if record is None:
        return RecordFlags(False, False, False, GONE_REASON, GONE_REASON)
    if layer is not None:
        reason = f"Read-only: {layer} layer"
        return RecordFlags(False, False, False, reason, reason)
    if read_only is not None:
        reason = f"Read-only: {read_only}"
        return RecordFlags(False, False, False, reason, reason)
    meta = meta_of(record.id)
    edit_denied = _denial(lambda: evaluator.check_update(meta))
    delete_denied = _denial(lambda: evaluator.check_delete(meta))
    reply_denied = ""
    if root is None:
        reply_reason = NO_ROOT_REASON
    elif root_layer is not None:
        reply_reason = f"Read-only: {root_layer} layer"
    else:
        root_meta = meta if root.id == record.id else meta_of(root.id)
        reply_denied = _reply_denial(evaluator, root_meta)
        reply_reason = NO_REPLY_REASON if reply_denied else ""
    return RecordFlags(
        edit=not edit_denied,
        delete=not delete_denied,
        reply=not reply_reason,
        reason=why_not_change(record) if edit_denied or delete_denied else "",
        reply_reason=reply_reason,
        edit_denied=edit_denied,
        delete_denied=delete_denied,
        reply_denied=reply_denied,
    )


def why_not_change(record: Record) -> str:
    """Return ``Your invite does not allow changing Ana's annotation``."""
    who = f"{record.creator_name}'s" if record.creator_name else "this"
    what = "comment" if isinstance(record, Comment) else "annotation"
    return f"Your invite does not allow changing {who} {what}"


def _denial(check: Callable[[], None]) -> str:
    """Return why the permission rules refuse ``check``, or ``""`` when they allow it."""
    try:
        check()
    except PermissionDenied as exc:
        return exc.reason
    return ""


def _reply_denial(evaluator: PermissionEvaluator, root: RecordMeta) -> str:
    """Return why a comment may not join the thread of ``root`` (``""``: it may)."""
    claims = evaluator.claims
    comment = RecordMeta(
        kind="comment",
        record_type=Comment.TYPE,
        creator_id=claims.user_id,
        creator_name=claims.creator_name,
        group=claims.default_group,
    )
    return _denial(lambda: evaluator.check_create(comment, thread_root=root))
