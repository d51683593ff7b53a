"""Loa's Prometheus metrics: the counters and histograms the processes update, and the
figures read from the database when `/metrics` is scraped.

Events are counted where they happen: a delivery worker counts sends, 429s and leases
taken over, the bot and the API count acknowledgements, whoever prepares a notice times
the AI step, whoever dispatches a notice its lag. In one process (`loa run`) the API's
`/metrics` shows all of them. In a scale-out on one host, set `PROMETHEUS_MULTIPROC_DIR`
to an empty directory for every Loa process (prometheus-client's multiprocess mode): each
process writes its values to files there and `/metrics` adds them up (`render`). States
(the queue's depth, the age of its oldest due delivery, notices past their time) are not
events: they are read from the database at each scrape (`queue_figures`), a few indexed
aggregate queries, so they are right whichever process or host does the work.

The objects live here, in `broadcasts/`, so that the domain can count without importing
the API; label values are small closed sets (results, transports, methods) or bot ids.
A count of rows written in the caller's transaction (acknowledgements) waits for that
transaction to commit (`count_on_commit`): a write that fails, or is rolled back, is not
counted, whichever front owns the transaction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from broadcasts.models import Delivery, DeliveryStatus, Notice, NoticeStatus

DELIVERIES = Counter(
    "loa_deliveries",
    "Delivery attempts by how they ended (sent, failed, retry, cancelled, released), "
    "transport and kind (notice, reminder, correction, recall)",
    ["result", "transport", "kind"],
)
SEND_SECONDS = Histogram(
    "loa_send_seconds",
    "Time of one call to a transport (a message, a file, an album, an edit), from the "
    "request to the answer, after the rate limits let it go",
    ["transport"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0),
)
RATE_LIMITED = Counter(
    "loa_rate_limited",
    "429 answers (Too Many Requests) by bot account and transport",
    ["bot", "transport"],
)
LEASES_TAKEN_OVER = Counter(
    "loa_leases_taken_over",
    "Deliveries claimed after another worker's lease ran out (that worker died or stalled)",
)
ACKNOWLEDGEMENTS = Counter(
    "loa_acknowledgements",
    "Acknowledgements recorded («Đã nhận»), by method (button, reply, link, api)",
    ["method"],
)
AI_STEP_SECONDS = Histogram(
    "loa_ai_step_seconds",
    "Time to prepare a notice (summary, renditions, fact check), by the engine that "
    "produced it (ai, or offline: no endpoint or a fallback)",
    ["engine"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0),
)
AI_FALLBACKS = Counter(
    "loa_ai_fallbacks",
    "AI step calls that fell back to the offline summary, by reason (timeout, too_slow, "
    "an endpoint failure, unexpected)",
    ["reason"],
)
DISPATCH_LAG_SECONDS = Histogram(
    "loa_dispatch_lag_seconds",
    "How late a notice's occurrence was dispatched after its time (the scheduler's lag)",
    buckets=(0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0),
)

_UNCOMMITTED = "loa_metrics_uncommitted"


def count_on_commit(session: AsyncSession, counter: Counter, amount: float = 1) -> None:
    """Add `amount` to `counter` (a labelled child) once `session`'s transaction commits;
    nothing if it is rolled back."""
    session.sync_session.info.setdefault(_UNCOMMITTED, []).append((counter, amount))


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for counter, amount in session.info.pop(_UNCOMMITTED, ()):
        counter.inc(amount)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_UNCOMMITTED, None)


# Follow-ups name their reason after a colon ("gave up after 5 attempts: …"): only the
# head of a fallback's reason is a label, so the set of values stays small.
_FALLBACK_REASONS = ("timeout", "too_slow", "unexpected")


def fallback_reason(detail: str) -> str:
    """A fallback's label: its known reason, or "endpoint" for the endpoint's own failures."""
    for reason in _FALLBACK_REASONS:
        if detail.startswith(reason):
            return reason
    return "endpoint"


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """The delivery queue and the schedule, as the database has them at one moment."""

    due: int  # pending and due now
    waiting: int  # pending, due later (a retry's backoff, a 429's pause)
    sending: int  # claimed by a worker
    oldest_due_age_seconds: float  # 0 when nothing is due
    overdue_notices: int  # scheduled, past their time, not dispatched yet
    oldest_overdue_seconds: float


async def queue_figures(*, session: AsyncSession, now: datetime) -> QueueFigures:
    """Three aggregate queries, on the delivery queue's index and the notice table."""
    pending = col(Delivery.status) == DeliveryStatus.pending
    due_row = (
        await session.execute(
            select(func.count(), func.min(col(Delivery.next_attempt_at))).where(
                pending, col(Delivery.next_attempt_at) <= now
            )
        )
    ).one()
    counts = dict(
        (
            await session.execute(
                select(col(Delivery.status), func.count())
                .where(col(Delivery.status).in_([DeliveryStatus.pending, DeliveryStatus.sending]))
                .group_by(col(Delivery.status))
            )
        ).all()
    )
    overdue = (
        await session.execute(
            select(func.count(), func.min(col(Notice.scheduled_at))).where(
                col(Notice.status) == NoticeStatus.scheduled, col(Notice.scheduled_at) <= now
            )
        )
    ).one()
    due, oldest = int(due_row[0]), due_row[1]
    return QueueFigures(
        due=due,
        waiting=int(counts.get(DeliveryStatus.pending, 0)) - due,
        sending=int(counts.get(DeliveryStatus.sending, 0)),
        oldest_due_age_seconds=_age(now, oldest),
        overdue_notices=int(overdue[0]),
        oldest_overdue_seconds=_age(now, overdue[1]),
    )


def _age(now: datetime, then: datetime | None) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:  # SQLite hands back naive UTC
        then = then.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - then).total_seconds())


class _Figures(Collector):
    def __init__(self, figures: QueueFigures) -> None:
        self._figures = figures

    def collect(self) -> list[GaugeMetricFamily]:
        f = self._figures
        depth = GaugeMetricFamily(
            "loa_delivery_queue_depth",
            "Deliveries not final yet: due (waiting for a worker), waiting (a retry's or a "
            "pause's time not come), sending (claimed)",
            labels=["state"],
        )
        for state, value in (("due", f.due), ("waiting", f.waiting), ("sending", f.sending)):
            depth.add_metric([state], value)
        return [
            depth,
            GaugeMetricFamily(
                "loa_delivery_oldest_due_age_seconds",
                "How long the oldest due delivery has waited for a worker (0: none due)",
                value=f.oldest_due_age_seconds,
            ),
            GaugeMetricFamily(
                "loa_scheduler_overdue_notices",
                "Scheduled notices whose time has passed and that are not dispatched yet",
                value=f.overdue_notices,
            ),
            GaugeMetricFamily(
                "loa_scheduler_overdue_seconds",
                "How far past its time the most overdue scheduled notice is (0: none)",
                value=f.oldest_overdue_seconds,
            ),
        ]


def render(figures: QueueFigures) -> bytes:
    """The Prometheus text exposition of every Loa metric: this process's (or, in
    multiprocess mode, every process's) counters and histograms, then `figures`."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        events = generate_latest(registry)
    else:
        events = generate_latest(REGISTRY)
    states = CollectorRegistry()
    states.register(_Figures(figures))
    return events + generate_latest(states)
