"""The delivery engine: sends each delivery once, at the provider's pace, surviving crashes.

DeliveryWorker     claims due deliveries and sends them (run any number of them)
run_worker         one worker until SIGTERM/SIGINT (`python -m broadcasts.delivery`)
delivery_counts    sent / failed / pending / cancelled of one notice, with failure reasons
split_text         a long text as messages a transport accepts
"""

from broadcasts.delivery.limits import LimiterBackend, MemoryLimits, RedisLimits, make_limits
from broadcasts.delivery.progress import DeliveryCounts, ProgressHook, delivery_counts
from broadcasts.delivery.split import split_text
from broadcasts.delivery.worker import DeliveryWorker, run_worker

__all__ = [
    "DeliveryCounts",
    "DeliveryWorker",
    "LimiterBackend",
    "MemoryLimits",
    "ProgressHook",
    "RedisLimits",
    "delivery_counts",
    "make_limits",
    "run_worker",
    "split_text",
]
