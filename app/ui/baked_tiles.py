"""The page tiles with the records the canvas paints drawn into them, kept between frames.

The records the app paints itself (new and edited ones, DESIGN §6) are drawn into a copy of
each tile once; a frame then only copies tiles to the screen. :class:`BakedTiles` keeps
those copies (the most recently used few), and brings a page's copies up to date by what an
edit changed, so one edit costs its records and the page's kept tiles, not the page's
records.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Sequence

from lamina.model.records import Annotation
from lamina.ui.annotation_painter import paint_annotation, painted_bounds
from lamina.ui.tiles import TileKey
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter, QTransform

BAKED_TILES = 64
"""Tiles kept with the records the canvas paints drawn into them (about 1 MB each)."""

Placement = Callable[[TileKey], QTransform | None]
"""The transform from Instant points to a tile's pixels at the current zoom and turn; None
for a tile of another zoom or turn (its copy is dropped, not kept)."""


class BakedTiles:
    """Copies of tiles with records drawn into them, by tile; the least recently used go."""

    def __init__(self, limit: int = BAKED_TILES) -> None:
        self._limit = limit
        self._tiles: OrderedDict[TileKey, tuple[int, int, str | None, QImage]] = OrderedDict()
        # A page's version changes whenever what it draws changes; a copy made at another
        # version is out of date.
        self._versions: Counter[int] = Counter()

    def clear(self) -> None:
        """Forget every copy (the zoom, the colours or the records drawn all changed)."""
        self._tiles.clear()

    def page_changed(self, page: int) -> None:
        """Take every copy of ``page`` as out of date."""
        self._versions[page] += 1

    def tile(
        self,
        key: TileKey,
        image: QImage,
        records: Sequence[Annotation],
        left_out: str | None,
        transform: QTransform,
    ) -> QImage:
        """Return ``image`` (tile ``key``) with ``records`` drawn into it by ``transform``:
        the copy kept, when made from this image at this version without ``left_out``."""
        stamp = (image.cacheKey(), self._versions[key.page], left_out)
        kept = self._tiles.get(key)
        if kept is not None and kept[:3] == stamp:
            self._tiles.move_to_end(key)
            return kept[3]
        baked = image.copy()
        painter = QPainter(baked)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setTransform(transform)
        for annotation in records:
            paint_annotation(painter, annotation)
        painter.end()
        self._tiles[key] = (*stamp, baked)
        while len(self._tiles) > self._limit:
            self._tiles.popitem(last=False)
        return baked

    def records_changed(
        self,
        page: int,
        old: Sequence[Annotation],
        new: Sequence[Annotation],
        placement: Placement,
        native_ids: Collection[str],
    ) -> None:
        """Bring the copies of ``page`` from records ``old`` to ``new`` by what changed.

        A copy the changed records do not reach (:func:`painted_bounds`) is kept; records
        added on top are painted into the copies they reach (unless the tiles draw them,
        ``native_ids``); any other change drops those copies (made again when painted).
        """
        before = self._versions[page]
        self._versions[page] += 1
        keys = [k for k in self._tiles if k.page == page]
        if not keys:
            return
        version = self._versions[page]
        old_by_id = {a.id: a for a in old}
        new_ids = {a.id for a in new}
        changed = [a for a in new if old_by_id.get(a.id) is not a]
        changed += [a for a in old if a.id not in new_ids]
        on_top = len(new) >= len(old) and all(x is y for x, y in zip(old, new, strict=False))
        bounds = [painted_bounds(a) for a in changed]
        for key in keys:
            image_key, baked_version, left_out, image = self._tiles[key]
            transform = placement(key)
            if baked_version != before or transform is None:
                del self._tiles[key]
                continue
            tile = QRectF(0, 0, key.width, key.height)
            reached = [transform.mapRect(b).intersects(tile) for b in bounds]
            if not any(reached):
                self._tiles[key] = (image_key, version, left_out, image)
                continue
            if not on_top:
                del self._tiles[key]
                continue
            image = image.copy()
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setTransform(transform)
            for a, reaches in zip(changed, reached, strict=True):
                if reaches and a.id not in native_ids and a.id != left_out:
                    paint_annotation(painter, a)
            painter.end()
            self._tiles[key] = (image_key, version, left_out, image)
