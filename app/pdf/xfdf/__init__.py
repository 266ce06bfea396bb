"""XFDF (ISO 19444-1, Acrobat's comment and form data file) to and from Lamina's records.

:func:`xfdf_to_records` reads an XFDF file into Instant JSON records (:mod:`lamina.model.records`);
:func:`records_to_xfdf` writes records as an XFDF file Acrobat imports; :func:`xfdf_export_losses`
lists what XFDF cannot carry. The codec is pure: it needs the page sizes (XFDF ``rect`` is PDF
user space, origin bottom-left, y up; records are Instant space, origin top-left, y down), not
the PDF. XML is read with ``defusedxml`` and any DTD or entity is refused.

Mapped, both ways (``page`` counts from 0 in both):

- common: ``rect`` <-> ``bbox``; ``name`` <-> ``id`` and ``name`` (written: ``name``, else
  ``id``); ``title`` <-> ``creatorName``; ``subject``; ``creationdate``/``date`` (PDF dates)
  <-> ``createdAt``/``updatedAt``; ``opacity``; ``flags`` (words) <-> ``flags``; ``<contents>``
  / ``<contents-richtext>`` <-> the type's text (``text`` of free text, comments and comment
  markers, as ``xhtml`` when rich; ``note`` elsewhere, and a sticky note's plain ``text``).
- ``<text>`` <-> ``pspdfkit/note`` (``icon``, ``color``); with ``inreplyto`` and no
  ``replyType="group"`` <-> ``pspdfkit/comment`` whose ``rootId`` is the thread's root
  annotation (a reply to a reply climbs to it, as Instant comments hang off the root); the
  root gets ``isCommentThreadRoot``; ``IT="LaminaCommentMarker"`` <-> ``pspdfkit/comment-marker``.
- ``<square>``/``<circle>``/``<line>``/``<polygon>``/``<polyline>`` <-> the shapes: ``color``,
  ``interior-color``, ``width``, ``dashes``, ``style="cloudy"`` + ``intensity`` (+ ``fringe``
  as ``cloudyBorderInset`` of rectangles and ellipses), ``start``/``end``, ``head``/``tail``
  <-> ``lineCaps``, ``<vertices>`` <-> ``points``.
- ``<ink>``: ``<inklist>``/``<gesture>`` <-> ``lines``, ``width`` <-> ``lineWidth``.
- ``<highlight>``/``<underline>``/``<strikeout>``/``<squiggly>``: ``coords`` <-> ``rects``.
- ``<redact>``: ``coords``, ``color`` <-> ``outlineColor``, ``interior-color`` <-> ``fillColor``,
  ``overlay-text``, ``overlay-text-repeat``.
- ``<freetext>``: ``color`` <-> ``backgroundColor``, ``<defaultappearance>``/``<defaultstyle>``
  <-> font, size, colours, bold/italic; ``justification``, ``rotation``, ``width``/``style``
  <-> border; ``callout`` + ``head`` + ``fringe`` <-> ``callout``.
- ``<stamp>``: ``icon`` <-> ``stampType`` (``SBApproved`` reads as ``Approved``; any other
  name is a ``Custom`` stamp titled with it), ``rotation``.
- ``<link>``: URI and GoTo-page actions; ``<caret>`` and other kinds <-> ``pspdfkit/unknown``
  with ``customData.pdfSubtype``, as the PDF reader gives them.
- ``<fields>``: nested ``<field name>`` <-> ``pspdfkit/form-field-value`` named
  ``root.child.text1``; ``<value>`` (one: a string, several: a list; given the PDF's form
  fields, a check box is a list, ``Off`` empty; a radio group a string or null), and
  ``<value-richtext>`` (its text as the value, the XHTML kept).
- ``<f href>`` and ``<ids original modified>`` <-> the PDF's name and ``pdfId``.

Kept as they are (in the record's ``extra["xfdf"]``, written back unchanged): attributes and
elements the record has no field for (``IT``, ``state``/``statemodel``, ``replyType``,
``fringe`` of plain shapes, line leaders and captions, ``<data>``, ``<defaultappearance>`` of
a redaction, ...), the ``<popup>``, the base64 ``<appearance>``, the rich text of a type whose
text is plain, and any value that does not read (an unknown icon or flag, a bad date).

Not carried, because XFDF has no place for them: ``customData``, ``blendMode``, ink
``intensities``, ``verticalAlign``, ``isFitting``, stamp ``subtitle``, measurement scales, a
redaction's overlay text colour, ``optionIndexes``, image annotations (they would need the
image as an appearance stream), widgets, form field definitions and bookmarks. An ``id`` that
differs from the ``name`` comes back as the name; ``pdfObjectId`` does not come back. Dates
come back in UTC; coordinates to 1e-6 pt.

Errors are :class:`~lamina.pdf.errors.XfdfError`: hostile or malformed XML, not XFDF, an
annotation whose ``page`` lies past the end of the PDF (named, with how many more do), or a
record that cannot be written (named; ``skip_unwritable=True`` leaves such records out once
:func:`xfdf_export_losses` has listed them). What a file holds that no record keeps is listed
in :attr:`XfdfContent.not_kept`.

Modules: :mod:`.reader` and :mod:`.writer` (the mapping), :mod:`.element` (one element being
read, and what is kept of it), :mod:`.losses` (what XFDF cannot carry), :mod:`.fields` (form
field values), :mod:`.vocabulary` (single values both ways), :mod:`.markup` (safe XML in, XML
out).
"""

from lamina.pdf.xfdf.markup import XFDF_NS
from lamina.pdf.xfdf.reader import XfdfContent, xfdf_to_records
from lamina.pdf.xfdf.vocabulary import COMMENT_MARKER_INTENT, EXTRA_KEY, PageSize
from lamina.pdf.xfdf.writer import NOT_XFDF, WRITTEN_FIELDS, records_to_xfdf, xfdf_export_losses

__all__ = [
    "COMMENT_MARKER_INTENT",
    "EXTRA_KEY",
    "NOT_XFDF",
    "WRITTEN_FIELDS",
    "XFDF_NS",
    "PageSize",
    "XfdfContent",
    "records_to_xfdf",
    "xfdf_export_losses",
    "xfdf_to_records",
]
