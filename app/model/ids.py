"""Record ids: ULIDs minted by the client, or the stringified ``pdfObjectId`` of originals."""

from typing import NewType

from ulid import ULID

RecordId = NewType("RecordId", str)
"""Id of a record, unique within one layer."""


def new_record_id() -> RecordId:
    """Return a fresh ULID string (26 characters of Crockford base32)."""
    return RecordId(str(ULID()))


def record_id_for_pdf_object(pdf_object_id: int) -> RecordId:
    """Return the id Instant JSON gives an annotation read from the PDF: its object number."""
    return RecordId(str(pdf_object_id))
