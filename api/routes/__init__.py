"""One router per resource, gathered here in the order the docs list them."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    acknowledgements,
    api_keys,
    areas,
    attachments,
    audit,
    bots,
    cap,
    channels,
    drafts,
    health,
    metrics,
    notice_acks,
    notice_amend,
    notices,
    officials,
    policy,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    metrics.router,
    areas.router,
    channels.router,
    officials.router,
    policy.router,
    drafts.router,
    notices.router,
    notice_amend.router,
    cap.router,
    attachments.router,
    notice_acks.router,
    acknowledgements.router,
    api_keys.router,
    audit.router,
    bots.router,
    cap.public_router,
)
