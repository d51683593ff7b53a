"""The bot's feature routers, gathered in one place (order matters: errors first)."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import acknowledge, compose, errors, register, start, status


def build_router() -> Router:
    root = Router(name="loa")
    root.include_routers(
        errors.router, acknowledge.router, register.router, start.router, status.router,
        compose.router, start.fallback_router,
    )
    return root
