"""A local HTTP server that speaks the Telegram Bot API, for the demo, tests and benchmarks.

Real aiogram bots talk to it unchanged (``TelegramAPIServer.from_base(url)``); a control API
under ``/_sandbox/`` lets a program act as people: write to the bot (privately, in groups, in
forum topics, as replies), send it photos, documents, voice notes and albums, add it to
groups, restrict it, press buttons (or forge presses), close topics, switch privacy mode,
inject faults, and read back what the bot sent and how many of its requests Telegram's
limits refused.

It is at least as strict as Telegram, with every rule on by default: flood limits on sends
and edits (:mod:`.limits`), keyboards, callback data and text length after HTML parsing
(:mod:`.content`, :mod:`.htmltext`), answerCallbackQuery once and in time, "message is not
modified" (:mod:`.messages`), files, captions, albums, per-bot file ids and downloads
(:mod:`.media`, :mod:`.files`), getUpdates conflicts (:mod:`.updates`), privacy mode
(:mod:`.privacy`), forum topics and posting rights (:mod:`.chats`), webhook delivery
(:mod:`.webhook`). A test that needs a looser rule passes it explicitly and says why.

Modules: ``model`` (records), ``state`` (the world), ``params`` and ``methods`` (the method
registry), ``botapi`` (HTTP side of the Bot API), ``faults`` (fault injection),
``people`` and ``control`` (the control API), ``server`` (app and runner), ``client``
(Python control client), ``__main__`` (``python -m sandbox.telegram``).
"""
