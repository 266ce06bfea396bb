"""Entry point of the PyInstaller bundle: the same ``lamina`` command as ``pip install``."""

from __future__ import annotations

import multiprocessing
import sys

from lamina.cli import main

if __name__ == "__main__":
    # A frozen process that starts workers must let them run their task instead of main().
    multiprocessing.freeze_support()
    sys.exit(main())
