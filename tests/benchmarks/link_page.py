"""The acknowledgement page's weight and a link's length (the README's figures):
`python -m tests.benchmarks.link_page`. One notice delivered to one chat, on SQLite."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from api.app import create_app
from broadcasts.db import make_engine, make_sessionmaker
from broadcasts.links import LinkMaker
from broadcasts.migrate import upgrade_async
from broadcasts.settings import Settings
from broadcasts.tokens import use_token_key
from tests.api.link_world import seed_delivered

PUBLIC_URL = "https://loa.example.vn"


async def main() -> None:
    use_token_key(Fernet.generate_key().decode())
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/loa.db"
        await upgrade_async(url)
        engine = make_engine(url)
        sessionmaker = make_sessionmaker(engine)
        delivered = await seed_delivered(sessionmaker, store=Path(tmp) / "store")
        settings = Settings(_env_file=None, database_url=url)
        app = create_app(sessionmaker=sessionmaker, settings=settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://loa.test") as http:
            page = await http.get(f"/a/{delivered.ack_token()}")
        await engine.dispose()
    maker = LinkMaker(public_url=PUBLIC_URL, lifetime=timedelta(days=7))
    print(
        f"page: {len(page.content):,} bytes in 1 request (HTML with inline CSS), {page.status_code}"
    )
    print(f"link: {len(maker.ack_url(123_456))} characters with {PUBLIC_URL}")


if __name__ == "__main__":
    asyncio.run(main())
