"""The delivery engine: sends each delivery once, at the provider's pace, surviving crashes.

DeliveryWorker     claims due deliveries and sends them (run any number of them)
run_worker         one worker until SIGTERM/SIGINT (`python -m broadcasts.delivery`)
MemoryLimits       the provider's limits in this process; RedisLimits shared by all workers
Clock              the time the engine reads and waits on (tests inject their own)
split_text         a long text as messages a transport accepts

How far a notice has come is counted in one place: `broadcasts.reports.count_deliveries`.
"""

from broadcasts.delivery.clock import LOOP_CLOCK, Clock, LoopClock
from broadcasts.delivery.limits import LimiterBackend, MemoryLimits, make_limits
from broadcasts.delivery.process import run_worker
from broadcasts.delivery.progress import ProgressHook
from broadcasts.delivery.shared_limits import RedisLimits
from broadcasts.delivery.split import split_text
from broadcasts.delivery.worker import DeliveryWorker

__all__ = [
    "LOOP_CLOCK",
    "Clock",
    "DeliveryWorker",
    "LimiterBackend",
    "LoopClock",
    "MemoryLimits",
    "ProgressHook",
    "RedisLimits",
    "make_limits",
    "run_worker",
    "split_text",
]
