"""The Zalo front: what residents and group leaders type to a ward's Zalo bot.

Events arrive by long poll (`receiving.poll_updates`, a getUpdates loop: one event per
call) or by webhook (`receiving.WebhookIntake`, behind `POST /zalo/webhook/{bot_id}`);
both hand each event to `handlers.ZaloFront`, which reads text commands only (Zalo has
no buttons): «DK <mã>» registers the chat, «HUY DK» unsubscribes it, «1» / «đã nhận» /
«ok» or a quote-reply acknowledges a notice. The domain (`broadcasts`) does the work.
"""
