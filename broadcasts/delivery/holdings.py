"""What one worker holds: deliveries claimed and not yet recorded, and their notices' texts.

A worker holds at most about two seconds of sending per bot account (`per_account`): a
notice bigger than that is shared by every worker polling, whichever claimed first. The
counts here decide when the next claim is due (an account running low, `hungry`) and when
a notice may be closed (nothing of it held any more); the texts are read once per notice.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from broadcasts.delivery.claims import Job, NoticeTexts
from broadcasts.delivery.clock import Clock
from broadcasts.delivery.lanes import Lanes
from broadcasts.delivery.outcomes import Outcome

# Jobs claimed ahead per account: this many seconds of sending at its rate, so that a claim
# every second keeps every bot busy and the rest stays for the other workers.
AHEAD_SECONDS = 2.0
# A notice's texts nothing is held of are forgotten after this long.
_TEXTS_KEPT_SECONDS = 60.0


def lane_slots(*, rate: float, concurrency: int) -> int:
    """Sends in progress per account: enough to keep a bot at its rate even when each
    request takes a second; without a rate limit, a share of the global bound."""
    if rate > 0:
        return max(1, min(concurrency, math.ceil(rate)))
    return max(1, concurrency // 8)


def per_account_bound(*, rate: float, slots: int, batch: int) -> int:
    """Jobs one worker claims ahead per account (at least two rounds of its slots)."""
    if rate > 0:
        return max(2 * slots, math.ceil(rate * AHEAD_SECONDS))
    return batch


class Holdings:
    """The counts of what is held, by notice and by account, and the notices' texts."""

    def __init__(self, *, lanes: Lanes, per_account: int, clock: Clock) -> None:
        self.lanes = lanes
        self.per_account = per_account
        self.held = 0
        self.by_notice: Counter[int] = Counter()
        self.notices: dict[int, NoticeTexts] = {}
        self._notices_used: dict[int, float] = {}
        self.more: set[int] = set()  # accounts that may have more due than they were given
        self.hungry = False  # one of them is running low
        self._clock = clock

    @property
    def low(self) -> int:
        """An account holding fewer than this is running low."""
        return self.per_account // 2

    def busy_accounts(self) -> set[int]:
        """Accounts that hold enough: the next claim skips them."""
        return self.lanes.holding_at_least(self.low)

    def hold(self, job: Job) -> None:
        self.held += 1
        self.by_notice[job.notice_id] += 1
        self._notices_used[job.notice_id] = self._clock.monotonic()
        self.lanes.get(job.account_id).held += 1

    def note_claim(self, jobs: Sequence[Job], skipped: set[int]) -> None:
        """Who may have more: the accounts skipped as busy, and those given a full share."""
        given = Counter(job.account_id for job in jobs)
        self.more = (self.more & skipped) | {a for a, n in given.items() if n >= self.per_account}

    def release(self, outcomes: Iterable[Outcome]) -> tuple[set[int], set[int]]:
        """Count recorded outcomes off; return the notices touched and those let go of.

        Sets `hungry` (and returns with it) when an account that may have more due
        fell below `low`.
        """
        touched: set[int] = set()
        let_go: set[int] = set()
        for outcome in outcomes:
            job = outcome.job
            touched.add(job.notice_id)
            self.held -= 1
            self.by_notice[job.notice_id] -= 1
            if self.by_notice[job.notice_id] <= 0:
                del self.by_notice[job.notice_id]
                let_go.add(job.notice_id)
            lane = self.lanes.by_account.get(job.account_id)
            if lane is not None:
                lane.held -= 1
                if lane.held < self.low and job.account_id in self.more:
                    self.hungry = True
        return touched, let_go

    def forget_idle_texts(self) -> None:
        now = self._clock.monotonic()
        for notice_id in [n for n in self.notices if n not in self.by_notice]:
            if now - self._notices_used.get(notice_id, 0.0) > _TEXTS_KEPT_SECONDS:
                self.notices.pop(notice_id, None)
                self._notices_used.pop(notice_id, None)
