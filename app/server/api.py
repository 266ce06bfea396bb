"""The HTTP API (Document Engine compatible, DESIGN §9)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from lamina.server.app import LaminaServer


def add_api_routes(app: web.Application, server: LaminaServer) -> None:
    """Add the API's routes to ``app``."""
