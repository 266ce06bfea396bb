"""JSON kept as text until it is read: the compact forms a server room holds its records in
(issue 15: a room's memory a small multiple of its live JSON), and the one compact encoding
every frame uses."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any


def dumps(value: Any) -> str:
    """Encode compact JSON the way every frame is encoded (§1.1)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class _ParsedOnUse(Mapping[str, Any]):
    """A read-only mapping held as text: subclasses parse it in :meth:`_parsed` (once)."""

    __slots__ = ()

    def _parsed(self) -> dict[str, Any]:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self._parsed()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())


class LazyJsonObject(_ParsedOnUse):
    """One JSON object kept as text, parsed on first use (a record's ``field_revs`` as a
    store or a room keeps them: only an update of that record reads them)."""

    __slots__ = ("_text", "_value")

    def __init__(self, text: str) -> None:
        self._text: str | None = text
        self._value: dict[str, Any] = {}

    def _parsed(self) -> dict[str, Any]:
        if self._text is not None:
            value = json.loads(self._text)
            self._value = value if isinstance(value, dict) else {}
            self._text = None
        return self._value


class SparseFieldRevs(_ParsedOnUse):
    """A compact record's ``field_revs``: as text, the revision most fields share (under
    :data:`_ALL_FIELDS`) and the fields at another; every key of the record's content and
    of ``extra`` not named has the shared one. Parsed on first use (an update of the
    record). About 30 bytes where the plain text of a dozen fields is 200."""

    __slots__ = ("_content_text", "_extra", "_text", "_value")

    def __init__(self, text: str, content_text: str, extra: tuple[str, ...]) -> None:
        self._text = text
        self._content_text: str | None = content_text  # the record's own string, not a copy
        self._extra = extra
        self._value: dict[str, int] | None = None

    @classmethod
    def encode(
        cls,
        revs: Mapping[str, int],
        content: Mapping[str, Any],
        content_text: str,
        extra: tuple[str, ...],
    ) -> Mapping[str, int]:
        """Return ``revs`` in this form, or as they are when it would not say the same
        (``extra``: the keys beside the content's that always have a revision)."""
        implied = (*content, *extra)
        if _ALL_FIELDS in revs or not all(key in revs for key in implied):
            return revs  # a key with no revision (an older store) must stay without one
        values = list(revs.values())
        common = max(set(values), key=values.count)
        kept = {k: v for k, v in revs.items() if v != common or k not in implied}
        kept[_ALL_FIELDS] = common
        return cls(dumps(kept), content_text, extra)

    def _parsed(self) -> dict[str, Any]:
        if self._value is None:
            revs: dict[str, int] = json.loads(self._text)
            common = revs.pop(_ALL_FIELDS)
            assert self._content_text is not None
            for key in (*json.loads(self._content_text), *self._extra):
                revs.setdefault(key, common)
            self._value, self._content_text = revs, None
        return self._value


_ALL_FIELDS = ":all"
"""The key of :class:`SparseFieldRevs` text for the shared revision (a ``revs`` that has
the key itself is left as it is)."""
