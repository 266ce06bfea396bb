"""Records, the Instant JSON codec, geometry and ids: Qt-free, PDF-free, I/O-free."""
