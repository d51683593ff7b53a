"""`python -m broadcasts.delivery`: one delivery worker, configured from the environment."""

from __future__ import annotations

import asyncio
import logging

from broadcasts.delivery.process import run_worker
from broadcasts.settings import Settings


def main() -> None:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
