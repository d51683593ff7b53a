"""A local HTTP server that speaks the Telegram Bot API, for the demo, tests and benchmarks.

Real aiogram bots talk to it unchanged (``TelegramAPIServer.from_base(url)``); a control API
under ``/_sandbox/`` lets a program act as people: write to the bot, add it to groups,
press buttons, inject flood limits and faults, and read back what the bot sent.

Modules: ``state`` (the in-memory world), ``methods`` and ``botapi`` (the Bot API side),
``htmltext`` (HTML parse mode and entities), ``faults`` (flood limits and fault injection),
``control`` (the control API), ``server`` (app and runner), ``client`` (Python control
client), ``__main__`` (``python -m sandbox.telegram``).
"""
