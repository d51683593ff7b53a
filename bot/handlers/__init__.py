"""The bot's feature routers, built fresh for each dispatcher (order matters: errors first)."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    acknowledge,
    amend,
    approval,
    attachments,
    compose,
    errors,
    register,
    remind,
    report_link,
    start,
    status,
)


def build_router() -> Router:
    root = Router(name="loa")
    root.include_routers(
        errors.make_router(),
        acknowledge.make_router(),
        register.make_router(),
        approval.make_router(),  # before start: /huy while typing a reason is its own
        attachments.make_router(),  # before start: its /huy drops held files
        start.make_router(),
        status.make_router(),
        report_link.make_router(),
        amend.make_router(),
        remind.make_router(),
        compose.make_router(),
        start.make_fallback_router(),
    )
    return root
