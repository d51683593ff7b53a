"""Privacy mode: which messages people write in a group reach a bot.

Telegram (core.telegram.org/bots/features#privacy-mode, and the Bot FAQ "What messages will
my bot get?"): privacy mode is on by default, except for bots added to a group as admins.
A bot in privacy mode receives in groups only

1. "Commands explicitly meant for them (e.g., /command@this_bot)";
2. "General commands (e.g. /start) if the bot was the last bot to send a message to the
   group";
3. "Inline messages sent via the bot" (inline mode is not modelled);
4. "Replies to any messages implicitly or explicitly meant for this bot";

and every bot receives all service messages. Bot admins, and bots whose privacy mode was off
when they were added ("the bot will need to be re-added to the group for this change to take
effect"), receive every message.

The reading implemented here, the strict one:

* (1) any bot_command ``/cmd@username`` in the text whose username is this bot's
  (case-insensitive) makes the message reach it;
* (2) a bare ``/cmd`` reaches the bot only when the text starts with it and this bot is the
  last bot that sent a message to this group (``Chat.last_bot``). Before any bot has written
  in the group, a bare command reaches no privacy-mode bot at all;
* (4) a reply reaches the bot when the message replied to was sent by this bot, or was itself
  delivered to this bot as a person's message (``ChatLog.seen``: e.g. a ``/cmd@this_bot`` it
  received; service messages are not "meant for" a bot). A message in a forum topic is an
  implicit reply to the topic's creation message (a service message), which therefore does
  not make it reach the bot.

Messages that only @mention the bot (BotFather's own summary says "mention the bot by
username") are not in the documented list and do not reach it.
"""

from __future__ import annotations

from typing import Any

from .htmltext import COMMAND
from .model import ADMINS, BotState, Chat, ChatLog


def reaches(bot: BotState, chat: Chat, msg: dict[str, Any], log: ChatLog) -> bool:
    """Whether a person's message in ``chat`` is delivered to ``bot``."""
    if bot.groups.get(chat.id) in ADMINS or not bot.group_privacy.get(chat.id, bot.privacy):
        return True
    text = msg.get("text") or ""
    if "/" in text:
        name = bot.username.lower()
        for m in COMMAND.finditer(text):
            addressed = m.group(1)
            if addressed is not None:
                if addressed.lower() == name:
                    return True
            elif m.start() == 0 and chat.last_bot == bot.id:
                return True
    reply = msg.get("reply_to_message")
    if reply is None:
        return False
    sender = reply.get("from") or {}
    return bool(sender.get("id") == bot.id or reply.get("message_id") in log.seen)
