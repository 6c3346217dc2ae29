"""The Slack app manifest matches what the bot listens for."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_declares_every_command_the_bot_handles_and_socket_mode():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    handled = set()
    for path in (ROOT / "handlers").rglob("*.py"):
        # Registered directly, or declared by a record kind (KindHandlers.command).
        text = path.read_text()
        handled |= set(re.findall(r'app\.command\("(/[a-z-]+)"\)', text))
        handled |= set(re.findall(r'^    command = "(/[a-z-]+)"$', text, re.MULTILINE))
    assert handled and declared == handled
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert "app_home_opened" in settings["event_subscriptions"]["bot_events"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = {"commands", "chat:write", "im:write", "usergroups:read"}
    code = "".join(
        p.read_text() for d in ("handlers", "bot", "schedules") for p in (ROOT / d).rglob("*.py")
    )
    if "files_upload_v2" in code:
        needed.add("files:write")  # the service report charts
    if "conversations_create" in code:
        # A major incident's channel: created, people invited, archived; and its topic.
        needed |= {"channels:manage", "channels:write.topic"}
    if '"is_private": True' in code:
        needed |= {"groups:write", "groups:write.topic"}  # private ones (security incidents)
    assert scopes == needed
