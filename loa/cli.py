"""`loa`: the one command-line entry point.

loa run        bot + API + scheduler + delivery worker in one process
loa bot        the bot and the scheduler only (scale-out)
loa api        the HTTP API only (scale-out)
loa worker     a delivery worker only (run as many as you like on PostgreSQL + Redis)
loa migrate    upgrade the database to the latest schema
loa rotate-key re-encrypt every stored bot token with the first key of LOA_SECRET_KEY
loa demo       the whole path on embedded defaults, ending with one line of JSON
loa prepare    show what the AI step would send for a notice in a file
loa sandbox    run the local Telegram Bot API sandbox
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from broadcasts.settings import Settings
from loa.logmask import install_token_mask


def settings_errors(exc: ValidationError) -> str:
    """One line per bad setting, named as the operator wrote it (`LOA_AI__MAX_RETRIES`)."""
    lines = []
    for error in exc.errors():
        key = "LOA_" + "__".join(str(part).upper() for part in error["loc"])
        lines.append(f"  {key}: {error['msg']}")
    return "\n".join(lines)


# The roles each serving command runs; the runtime (aiogram, FastAPI, the engine) is imported
# only by these, so that `loa prepare` and `loa migrate` start quickly.
_ROLES: dict[str, dict[str, bool]] = {
    "run": {},
    "bot": {"api": False, "worker": False},
    "api": {"bot": False, "scheduler": False, "worker": False},
    "worker": {"bot": False, "api": False, "scheduler": False},
}


async def _rotate_key(settings: Settings) -> int:
    from broadcasts.bots import reseal_tokens
    from broadcasts.db import make_engine, make_sessionmaker, session_scope
    from broadcasts.tokens import TokenKeyInvalid, use_token_key

    if settings.secret_key is None:
        print("loa: set LOA_SECRET_KEY to «new key,old key» first", file=sys.stderr)
        return 2
    try:
        use_token_key(settings.secret_key.get_secret_value())
        engine = make_engine(settings.database_url)
        try:
            async with session_scope(make_sessionmaker(engine)) as session:
                count = await reseal_tokens(session=session)
        finally:
            await engine.dispose()
    except TokenKeyInvalid as exc:
        print(f"loa: {exc.message}; nothing was changed", file=sys.stderr)
        return 2
    print(f"re-encrypted {count} bot tokens with the first key of LOA_SECRET_KEY")
    return 0


async def _serve(settings: Settings, roles: dict[str, bool]) -> None:
    from loa.runtime import Roles, Runtime, freeze_startup_objects

    runtime = Runtime(settings, Roles(**roles))
    await runtime.start()
    freeze_startup_objects()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runtime.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loa", description="Loa: the ward loudspeaker.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in [
        ("run", "bot + API + scheduler + delivery worker in one process"),
        ("bot", "the bot and the scheduler"),
        ("api", "the HTTP API"),
        ("worker", "a delivery worker"),
        ("migrate", "upgrade the database"),
        ("rotate-key", "re-encrypt the stored bot tokens with the first key of LOA_SECRET_KEY"),
    ]:
        sub.add_parser(name, help=text)
    demo = sub.add_parser("demo", help="run the whole path on embedded defaults")
    demo.add_argument("--notice", default="07-trieu-cuong.txt", help="sample notice file name")
    demo.add_argument("--groups", type=int, default=3, help="residential groups per khu phố")
    prepare = sub.add_parser("prepare", help="show what would be sent for a notice file")
    prepare.add_argument("rest", nargs=argparse.REMAINDER)
    sandbox = sub.add_parser("sandbox", help="run the Telegram Bot API sandbox")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)

    try:
        settings = Settings()  # one read of the environment and `.env`, for every command
    except ValidationError as exc:
        print(f"loa: invalid settings\n{settings_errors(exc)}", file=sys.stderr)
        return 2
    quiet = args.command in (
        "demo",
        "prepare",
        "migrate",
        "rotate-key",
    )  # these narrate for themselves
    logging.basicConfig(
        level=logging.WARNING if quiet else settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_token_mask()  # before anything logs: no token or typed code in any line
    if args.command in _ROLES:
        asyncio.run(_serve(settings, _ROLES[args.command]))
    elif args.command == "migrate":
        from broadcasts.migrate import upgrade

        upgrade(settings.database_url)
        print(f"database at {settings.database_url.split('@')[-1]} is up to date")
    elif args.command == "rotate-key":
        return asyncio.run(_rotate_key(settings))
    elif args.command == "demo":
        from loa.demo import run_demo

        return asyncio.run(run_demo(notice=args.notice, groups=args.groups))
    elif args.command == "prepare":
        from broadcasts.ai.cli import main as prepare_main

        return prepare_main(args.rest, settings=settings.ai)
    elif args.command == "sandbox":
        from sandbox.telegram.__main__ import main as sandbox_main

        return sandbox_main(["--host", args.host, "--port", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
