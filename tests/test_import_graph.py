"""Parts in their own rooms: what the product imports, and what it must not.

- `loa run` (every role in one process) never imports the sandbox: the fake Telegram is
  for tests, the demo and benchmarks only. A fresh interpreter starts the real runtime
  against a stand-in Bot API written here (a few lines of aiohttp, not the sandbox), waits
  until the bot polls, stops it and lists the `sandbox` modules it loaded.
- The domain (`broadcasts`) imports none of the fronts (`bot`, `api`), the composition root
  (`loa`) or the sandbox.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import asyncio, json, sys

from aiohttp import web
from cryptography.fernet import Fernet

import loa.cli  # noqa: F401  (the entry point `loa run` starts from)
from broadcasts.settings import ApiSettings, Settings, TelegramSettings
from loa.runtime import Roles, Runtime


async def main(workdir: str) -> None:
    polled = asyncio.Event()

    async def bot_api(request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        if method == "getme":
            user = {"id": 7001, "is_bot": True, "first_name": "Loa", "username": "loa_bot"}
            return web.json_response({"ok": True, "result": user})
        if method == "getupdates":
            polled.set()
            await asyncio.sleep(0.05)
            return web.json_response({"ok": True, "result": []})
        if method == "getwebhookinfo":
            info = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
            return web.json_response({"ok": True, "result": info})
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", bot_api)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{workdir}/loa.db",
        telegram=TelegramSettings(
            token="7001:ImportGraph", api_base=f"http://127.0.0.1:{port}", poll_timeout_seconds=1
        ),
        api=ApiSettings(port=0),
        secret_key=Fernet.generate_key().decode(),
    )
    runtime = Runtime(settings, Roles())
    await runtime.start()
    await polled.wait()
    await runtime.stop()
    await runner.cleanup()


asyncio.run(main(sys.argv[1]))
loaded = sorted(m for m in sys.modules if m == "sandbox" or m.startswith("sandbox."))
product = sorted(m for m in sys.modules if m.split(".")[0] in ("bot", "api", "broadcasts"))
print(json.dumps({"sandbox": loaded, "product": product}))
"""


def test_loa_run_imports_no_sandbox_module(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("LOA_")}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # a guard against a hang, not a speed check
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # The run really built the product (the bot's handlers, the API, the delivery worker)...
    assert {"bot.handlers", "api.app", "broadcasts.delivery.worker"} <= set(seen["product"])
    # ...and loaded nothing of the sandbox.
    assert seen["sandbox"] == []


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_domain_imports_no_front_root_or_sandbox() -> None:
    files = sorted((ROOT / "broadcasts").rglob("*.py"))
    assert len(files) > 20  # the walk found the package
    forbidden = {"bot", "api", "loa", "sandbox"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & forbidden)
        for path in files
        if _imported_roots(path) & forbidden
    }
    assert offenders == {}
