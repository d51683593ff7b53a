"""`loa demo` end to end, as `make demo` runs it: both sandboxes, one JSON line at the end.

The numbers follow from the sample ward and the demo's script (12 Telegram groups, 4
Zalo chats, every other leader presses, two Zalo residents reply), so they are fixed
before the run; how long it took is printed, never asserted.
"""

from __future__ import annotations

import json

import pytest

from loa.demo import ZALO_REPLIES, ZALO_RESIDENTS, run_demo


async def test_the_demo_reaches_telegram_groups_and_zalo_chats(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await run_demo() == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    zalo = len(ZALO_RESIDENTS)
    assert (result["channels"], result["sent"], result["failed"]) == (12 + zalo, 12 + zalo, 0)
    assert result["attachments_sent"] == 12  # Zalo takes no file: the Telegram groups do
    assert (result["zalo_chats"], result["zalo_sent"]) == (zalo, zalo)
    assert result["zalo_acknowledged"] == len(ZALO_REPLIES)
    assert result["acknowledged"] == 6 + len(ZALO_REPLIES)  # every other Telegram group
    assert (
        result["reminded"]
        == result["reminders_sent"]
        == result["channels"] - result["acknowledged"]
    )
    assert result["official_chat_429s"] == 0
    assert {"notice_id", "seconds"} <= result.keys()
