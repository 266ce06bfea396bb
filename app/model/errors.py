"""The root of Lamina's exception tree.

Every error Lamina raises on purpose derives from :class:`LaminaError`; each package adds a
small tree below it (``lamina.pdf.errors``, ``lamina.sync.errors``, ...). Messages are lowercase and
carry the facts (``"page 12 does not exist (document has 4 pages)"``), so the command line can
print ``str(exc)`` as its one-line error.
"""


class LaminaError(Exception):
    """Base class of every error Lamina raises on purpose."""


class JsonValueError(LaminaError, ValueError):
    """A decoded JSON value that is not what was expected (:mod:`lamina.model.json_values`).

    The message starts with the path of the offending value, e.g.
    ``push.changes[2].base_rev: expected an integer, got a boolean``.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


class InstantJsonError(JsonValueError):
    """Instant JSON that does not follow the format.

    The message starts with the path of the offending value, e.g.
    ``annotations[3].bbox: expected 4 numbers, got 3``.
    """
