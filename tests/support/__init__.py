"""The suite's harnesses and fakes, in one place and tested themselves (``test_*.py`` here).

- :mod:`~tests.support.corpus`: where the repository and the shared corpus are; ``corpus_pdf``.
- :mod:`~tests.support.server_thread`: ``ServerThread``, the real server in-process on a thread
  of its own (127.0.0.1, port 0, real SQLite in the test's tmp dir). Use it by default.
- :mod:`~tests.support.server_process`: ``ServerProcess``, ``lamina serve`` as a child process,
  for tests that SIGKILL the server or run the command as users do.
- :mod:`~tests.support.protocol_client`: a raw protocol client (frames by hand) for server tests.
- :mod:`~tests.support.filling_disk`: ``FillingDisk``, a real SQLite store whose disk fills up
  on demand (commits fail with SQLITE_FULL), for store-failure tests.
- :mod:`~tests.support.waiting`: ``eventually`` and ``async_test`` (no wall-clock asserts).
- :mod:`~tests.support.log_guard`: an unexpected log record at ERROR or above fails the test;
  declare an expected one with ``@pytest.mark.expect_error_log(PATTERN)`` or the
  ``expect_error_log(PATTERN)`` fixture.

Fixtures wrap these in the conftest files (``server``, ``doc``, ``stopped_server``...).
"""
