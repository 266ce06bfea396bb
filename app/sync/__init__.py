"""See the package list in app/__init__.py."""
