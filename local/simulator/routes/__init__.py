"""Endpoint handlers, one module per DocSpace controller."""

from __future__ import annotations

from local.simulator.routes import files, people, security, settings, webhooks
from local.simulator.routing import Router


def build_router() -> Router:
    router = Router()
    for module in (security, people, files, settings, webhooks):
        module.register(router)
    return router
