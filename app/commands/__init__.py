"""The verbs of the ``lamina`` command, one module per area; see :mod:`lamina.cli`."""
