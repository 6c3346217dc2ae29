"""`servicedesk sandbox`: the whole desk in a browser, with no Slack workspace and no tokens.

On loopback only: the stand-in Slack (slackstub.Workspace: the Web API and a page), the bot
against it over its real HTTP endpoint (every request from the page signed as Slack signs
them) on a SQLite file, and the demo policy of demo_policy.toml with the people below.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from slackstub.workspace import Person, Workspace

log = logging.getLogger(__name__)

ENGINEER = Person("U0ENGINEER", "Erin Engineer", "engineer")
APPROVER_1 = Person("U0APPROVER1", "Ada Approver", "approver")
APPROVER_2 = Person("U0APPROVER2", "Abel Approver", "approver")
ON_CALL = Person("U0ONCALL", "Otto On-call", "on-call")
MANAGER = Person("U0MANAGER", "Mira Manager", "service manager")
PEOPLE = [ENGINEER, APPROVER_1, APPROVER_2, ON_CALL, MANAGER]

CHANNELS = {
    "C0INCIDENTS": "incidents",
    "C0ESCALATIONS": "incident-escalations",
    "C0PROBLEMS": "problems",
    "C0CHANGES": "changes",
    "C0APPROVALS": "change-approvals",
    "C0REPORTS": "service-reports",
}

USERGROUPS = {
    "S0AGENTS": ("service-desk", [ENGINEER.id, ON_CALL.id, MANAGER.id]),
    "S0ONCALL": ("platform-on-call", [ON_CALL.id]),
    "S0CAB": ("change-approvers", [APPROVER_1.id, APPROVER_2.id]),
}

# Nobody's token: the stand-in accepts any token of the right shape.
SANDBOX_BOT_TOKEN = "xoxb-sandbox-not-a-real-token"


def demo_policy_text() -> str:
    return resources.files("sandbox").joinpath("demo_policy.toml").read_text(encoding="utf-8")


@dataclass
class Sandbox:
    """A running sandbox: the page is at `url`; `stop()` ends everything it started."""

    workspace: Workspace
    ctx: Any
    server: Any
    server_thread: threading.Thread
    scheduler: Any
    # Where the stand-in's messages are kept between runs (beside the database).
    messages_file: Path

    @property
    def url(self) -> str:
        return self.workspace.origin + "/"

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        self.server.task_dispatcher.shutdown()
        self.server.close()
        self.server_thread.join(timeout=5)
        self.ctx.background.shutdown(wait=True)
        self.workspace.stop()
        self.workspace.save(self.messages_file)
        self.ctx.db.dispose()


def _serve(server: Any) -> None:
    try:
        server.run()
    except OSError:
        pass  # stop() closed the listening socket: that ends waitress's select loop


def start(
    *,
    db_path: Path,
    port: int = 0,
    seed: bool = False,
    scheduler: bool = True,
    clock: Any = None,
    background: Any = None,
) -> Sandbox:
    """Start the stand-in Slack on 127.0.0.1:`port` (0: any free port) and the bot against it."""
    from bot.app_factory import build_context
    from bot.bootstrap import prepare_store
    from bot.db import Database
    from bot.http import EVENTS_PATH, make_server
    from bot.policy import parse_policy
    from bot.settings import load_settings

    signing_secret = secrets.token_hex(16)
    workspace = Workspace(
        people=PEOPLE, channels=CHANNELS, signing_secret=signing_secret, port=port
    ).start()
    for group_id, (handle, members) in USERGROUPS.items():
        workspace.set_usergroup(group_id, members, handle=handle, name=handle)
    messages_file = db_path.with_name(db_path.name + ".slack.json")
    workspace.load(messages_file)
    try:
        settings = load_settings(
            SLACK_BOT_TOKEN=SANDBOX_BOT_TOKEN,
            SLACK_SIGNING_SECRET=signing_secret,
            SLACK_API_URL=workspace.url,
            DATABASE_URL=f"sqlite:///{db_path}",
            HOST="127.0.0.1",
            _env_file=None,
        )
        policy = parse_policy(demo_policy_text(), path=Path("sandbox/demo_policy.toml"))
        db = Database.from_url(settings.database_url)
        db.upgrade()
        ctx = build_context(settings, policy, db, clock=clock, background=background)
        prepare_store(db, policy, ctx.clock)
        from sandbox import seeding

        seeding.load_cmdb(db, ctx.clock)
        if seed:
            seeding.seed_month(db, policy, ctx.clock)
        from composition import create_app, start_scheduler

        app = create_app(ctx)
        server = make_server(app, db, host="127.0.0.1", port=0, threads=4)
        workspace.request_url = f"http://127.0.0.1:{server.effective_port}{EVENTS_PATH}"
        thread = threading.Thread(target=_serve, args=(server,), name="sandbox-bot", daemon=True)
        thread.start()
        running_scheduler = None
        if scheduler:
            running_scheduler = start_scheduler(ctx)
    except BaseException:
        workspace.stop()
        raise
    return Sandbox(workspace, ctx, server, thread, running_scheduler, messages_file)


def command(args: argparse.Namespace) -> int:
    """`sandbox`: run the stand-in Slack and the bot until Ctrl-C, printing the page's URL."""
    import errno
    import signal
    import sys
    import tempfile

    from bot.cli import configure_logging

    configure_logging("WARNING")
    with tempfile.TemporaryDirectory(prefix="servicedesk-sandbox-") as scratch:
        db_path = Path(args.db) if args.db else Path(scratch) / "sandbox.db"
        try:
            running = start(db_path=db_path, port=args.port, seed=args.seed)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                print(
                    f"servicedesk sandbox: cannot listen on 127.0.0.1:{args.port} "
                    f"({error.strerror}); choose another with --port",
                    file=sys.stderr,
                )
            else:
                print(f"servicedesk sandbox: cannot start: {error}", file=sys.stderr)
            return 1
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print(f"servicedesk sandbox: open {running.url} (data in {db_path}); Ctrl-C stops it")
        try:
            threading.Event().wait()
        finally:
            running.stop()
    return 0
