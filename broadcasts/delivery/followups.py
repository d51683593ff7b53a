"""Follow-ups of a sent notice, one delivery row per channel: reminders, corrections and
recalls (`DeliveryKind`). Each runs through the engine like the notice itself (claimed
under a lease, paced by the same limits, retried with the same backoff, its outcome
recorded per channel); only what is sent differs.

`attempt` picks the kind's handler from `HANDLERS`. A handler gets the `Sender` (for its
`deliver`, `retry_or_fail` and friends, so that limits and error classes stay in one
place), the claimed job (`job.target_refs`: the notice's message ids in that chat,
`job.target_sent_at`: when they went out), the notice's texts and the account's transport.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from broadcasts.delivery import amend
from broadcasts.delivery.claims import Job, NoticeTexts
from broadcasts.delivery.outcomes import Outcome, Result
from broadcasts.delivery.remind import send_reminder
from broadcasts.models import DeliveryKind
from broadcasts.transports.base import Transport

if TYPE_CHECKING:
    from broadcasts.delivery.engine import Sender

Handler = Callable[["Sender", Job, NoticeTexts, Transport], Awaitable[Outcome]]

HANDLERS: dict[str, Handler] = {
    DeliveryKind.correction: amend.correct,
    DeliveryKind.recall: amend.recall,
    DeliveryKind.reminder: send_reminder,
}


async def attempt(sender: Sender, job: Job, notice: NoticeTexts, transport: Transport) -> Outcome:
    handler = HANDLERS.get(job.kind)
    if handler is None:
        return Outcome(
            job=job,
            result=Result.failed,
            at=sender.now(),
            attempts=job.attempts + 1,
            error=f"unknown follow-up: {job.kind}",
        )
    return await handler(sender, job, notice, transport)
