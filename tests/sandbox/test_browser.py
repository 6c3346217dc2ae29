"""The sandbox page in real headless Chromium: an incident, a change and a request walked
through their lives by the demo people, every click going to the bot signed over HTTP.

Runs with Debian's chromium (/usr/bin/chromium) driven by Playwright; never a downloaded
browser. Skipped only when no browser is installed and CI is not set (CI must run it).
Set SANDBOX_SCREENSHOTS=docs to refresh the README's screenshots."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlmodel import select

import sandbox
from models.change import Change
from models.incident import Incident
from models.service_request import ServiceRequest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_BROWSER = Path(CHROMIUM).exists()
try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None  # type: ignore[assignment]

if not os.environ.get("CI") and (not HAVE_BROWSER or sync_playwright is None):
    pytest.skip("no chromium or playwright here (CI installs both)", allow_module_level=True)

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Generous: CI shares two cores with the PostgreSQL leg and other work.
TIMEOUT_MS = 15_000


@pytest.fixture
def page(running_sandbox: sandbox.Sandbox, tmp_path: Path) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=FLAGS, headless=True,
            viewport={"width": 1280, "height": 860},
        )
        try:
            tab = browser.new_page()
            tab.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            errors: list[str] = []
            tab.on("pageerror", lambda error: errors.append(str(error)))
            tab.goto(running_sandbox.url)
            expect(tab.locator("#channels a", has_text="incidents")).to_be_visible()
            yield tab
            assert errors == [], f"the page raised: {errors}"
        finally:
            browser.close()


def shot(page: Page, name: str, tmp_path: Path) -> None:
    """Keep a screenshot; copied to $SANDBOX_SCREENSHOTS (docs/) when that is set."""
    path = tmp_path / f"sandbox-{name}.png"
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    target = os.environ.get("SANDBOX_SCREENSHOTS")
    if target:
        shutil.copyfile(path, Path(target) / path.name)


def act_as(page: Page, person: sandbox.Person) -> None:
    page.select_option("#person", person.id)
    expect(page.locator("#channel-header")).to_contain_text(person.name)


def open_channel(page: Page, name: str) -> None:
    page.locator("#sidebar a", has_text=name).first.click()
    expect(page.locator("#channel-header")).to_contain_text(name)


def command(page: Page, text: str) -> None:
    page.fill("#message-box", text)
    page.press("#message-box", "Enter")


def modal(page: Page, title: str):  # type: ignore[no-untyped-def]
    found = page.locator(".modal[role=dialog]", has=page.locator("header", has_text=title))
    expect(found).to_be_visible()
    return found


def field(dialog, label: str):  # type: ignore[no-untyped-def]
    return dialog.locator(".input", has=dialog.page.locator("label", has_text=label))


def record_message(page: Page, key: str):  # type: ignore[no-untyped-def]
    """The channel message of a record (its summary names the key in bold)."""
    return page.locator(
        "#messages .message:not(.ephemeral)", has=page.locator("b", has_text=key)
    ).last


def open_form(page: Page, channel: str, text: str, title: str):  # type: ignore[no-untyped-def]
    """Type a slash command in `channel` and return the modal it opens."""
    open_channel(page, channel)
    command(page, text)
    return modal(page, title)


def newest(running: sandbox.Sandbox, model) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    """The latest record of `model`, read from the sandbox's database."""
    with running.ctx.db.read_session() as session:
        found = session.exec(select(model).order_by(model.id.desc())).first()
        assert found is not None, f"no {model.__name__} was created"
        return SimpleNamespace(**found.model_dump(), key=found.key)


def test_incident_logged_acknowledged_escalated_resolved(
    page: Page, running_sandbox: sandbox.Sandbox, tmp_path: Path
) -> None:
    dialog = open_form(page, "incidents", "/incident Card payments fail at checkout", "New incident")
    field(dialog, "Impact").locator("select").select_option(label="High")
    field(dialog, "Urgency").locator("select").select_option(label="High")
    # Type-ahead: what is typed goes to the bot as block_suggestion.
    field(dialog, "Service").locator("input").fill("pay")
    suggestion = dialog.locator(".suggestions button", has_text="payments").first
    expect(suggestion).to_be_visible()
    shot(page, "incident-form", tmp_path)
    suggestion.click()
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#modal-layer")).to_be_hidden()
    incident = newest(running_sandbox, Incident)
    assert incident.title == "Card payments fail at checkout"
    assert (incident.priority, incident.service) == (1, "payments")

    act_as(page, sandbox.ON_CALL)
    message = record_message(page, incident.key)
    message.locator("button", has_text="Acknowledge").click()
    expect(record_message(page, incident.key)).to_contain_text("In progress")
    shot(page, "incident-acknowledged", tmp_path)

    # The overflow menu opens a form; closing it leaves the incident as it was.
    record_message(page, incident.key).get_by_role("button", name="More actions").click()
    record_message(page, incident.key).get_by_role("button", name="Change priority…").click()
    dialog = modal(page, f"Priority {incident.key}")
    expect(field(dialog, "New priority").locator("select option:checked")).to_have_text(
        "P1 critical"
    )
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("#modal-layer")).to_be_hidden()

    # A user select on the message: hand it to Erin and take it back.
    for person in (sandbox.ENGINEER, sandbox.ON_CALL):
        record_message(page, incident.key).locator("select").first.select_option(person.id)
        expect(record_message(page, incident.key).locator(".fields")).to_contain_text(person.name)

    record_message(page, incident.key).locator("button", has_text="Escalate").click()
    dialog = modal(page, f"Escalate {incident.key}")
    dialog.locator("label", has_text="Hierarchical").locator("input").check()
    field(dialog, "Why").locator("textarea").fill("Card payments down for everyone")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#modal-layer")).to_be_hidden()

    record_message(page, incident.key).locator("button", has_text="Resolve").click()
    dialog = modal(page, f"Resolve {incident.key}")
    field(dialog, "Resolution code").locator("select").select_option(label="Fixed")
    # A required input left empty: refused on the page, as Slack's client does.
    dialog.locator("button[type=submit]").click()
    expect(field(dialog, "Resolution note").locator(".error")).to_have_text(
        "Please complete this required field."
    )
    # A note of blanks reaches the bot, which answers with an inline error (response_action).
    field(dialog, "Resolution note").locator("textarea").fill("   ")
    dialog.locator("button[type=submit]").click()
    expect(field(dialog, "Resolution note").locator(".error")).to_contain_text("sentence")
    field(dialog, "Resolution note").locator("textarea").fill("Restarted the card gateway")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#modal-layer")).to_be_hidden()
    expect(record_message(page, incident.key)).to_contain_text("Resolved")
    # The record's history is its thread.
    record_message(page, incident.key).locator(".replies").click()
    expect(page.locator("#thread")).to_contain_text("escalat")
    shot(page, "incident-resolved", tmp_path)
    done = newest(running_sandbox, Incident)
    assert (done.status, done.resolution_code) == ("resolved", "fixed")
    assert done.acknowledged_at is not None


def test_change_raised_and_approved_by_two_approvers(
    page: Page, running_sandbox: sandbox.Sandbox, tmp_path: Path
) -> None:
    dialog = open_form(page, "changes", "/change", "Request a change")
    field(dialog, "Title").locator("input").fill("Upgrade the payments database")
    field(dialog, "Type").locator("select").select_option(label="Normal")
    field(dialog, "Risk").first.locator("select").select_option(label="Medium")
    field(dialog, "Services or items affected").locator("input").fill("pay")
    dialog.locator(".suggestions button", has_text="payments").first.click()
    start = datetime.now() + timedelta(days=3)
    field(dialog, "Planned start").locator("input").fill(start.strftime("%Y-%m-%dT10:00"))
    field(dialog, "Planned end").locator("input").fill(start.strftime("%Y-%m-%dT12:00"))
    field(dialog, "Backout plan").locator("textarea").fill("Restore last night's snapshot")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#modal-layer")).to_be_hidden()
    change = newest(running_sandbox, Change)
    assert change.title == "Upgrade the payments database"

    record_message(page, change.key).locator("button", has_text="Assess").click()
    expect(record_message(page, change.key)).to_contain_text("Assessment")
    record_message(page, change.key).locator("button", has_text="Submit for approval").click()
    expect(record_message(page, change.key)).to_contain_text("Awaiting approval")

    for approver in (sandbox.APPROVER_1, sandbox.APPROVER_2):
        act_as(page, approver)
        open_channel(page, "change-approvals")
        request = page.locator(
            "#messages .message", has=page.locator("b", has_text=change.key)
        ).last
        request.locator("button", has_text="Approve").click()
        expect(request).to_contain_text(approver.name)
    shot(page, "change-approved", tmp_path)
    open_channel(page, "changes")
    expect(record_message(page, change.key)).not_to_contain_text("Awaiting approval")
    approved = newest(running_sandbox, Change)
    assert approved.status not in ("new", "assessment", "awaiting_approval"), approved.status


def test_catalog_item_ordered_approved_and_fulfilled(
    page: Page, running_sandbox: sandbox.Sandbox, tmp_path: Path
) -> None:
    open_channel(page, "incidents")
    command(page, "/request")
    # The catalog comes back as an ephemeral message, each item with its Request button.
    catalog = page.locator("#messages .message.ephemeral", has_text="New laptop").last
    catalog.locator(".section-row", has_text="New laptop").locator("button").click()
    dialog = modal(page, "New laptop")
    field(dialog, "Model").locator("select").select_option(label="15 inch")
    shot(page, "request-form", tmp_path)
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#modal-layer")).to_be_hidden()
    ordered = newest(running_sandbox, ServiceRequest)
    assert ordered.item_id == "laptop"

    act_as(page, sandbox.APPROVER_1)
    open_channel(page, "servicedesk")
    asked = page.locator("#messages .message", has_text=ordered.key).last
    asked.locator("button", has_text="Approve").click()
    expect(page.locator("#messages")).to_contain_text(f"You approved {ordered.key}")

    act_as(page, sandbox.ON_CALL)
    open_channel(page, "servicedesk")
    page.locator("#messages .message", has_text=ordered.key).last.locator(
        "button", has_text="Start fulfilment"
    ).click()
    page.locator("#messages .message", has_text=ordered.key).last.get_by_role(
        "button", name="Fulfil", exact=True
    ).click()
    dialog = modal(page, ordered.key)
    dialog.locator("textarea").first.fill("Handed over at the desk")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#modal-layer")).to_be_hidden()
    expect(page.locator("#messages")).to_contain_text("Fulfilled")
    shot(page, "request-fulfilled", tmp_path)
    done = newest(running_sandbox, ServiceRequest)
    assert done.status == "fulfilled", done.status


def test_stored_markup_shows_as_text_and_the_home_tab_opens(
    page: Page, running_sandbox: sandbox.Sandbox, tmp_path: Path
) -> None:
    hostile = "<script>window.pwned=1</script> <!channel> <img src=x onerror=window.pwned=2>"
    dialog = open_form(page, "incidents", "/incident", "New incident")
    field(dialog, "Title").locator("input").fill(hostile)
    field(dialog, "Impact").locator("select").select_option(label="Low")
    field(dialog, "Urgency").locator("select").select_option(label="Low")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#modal-layer")).to_be_hidden()
    incident = newest(running_sandbox, Incident)
    message = record_message(page, incident.key)
    expect(message).to_contain_text("<script>window.pwned=1</script> <!channel> <img src=x")
    assert message.locator("script, img[src=x], .mention.broadcast").count() == 0
    assert page.evaluate("window.pwned") is None
    # The page's mrkdwn: escaped first, then formatted; only http(s) and mailto links.
    html = page.evaluate(
        "mrkdwn('*bold* <@U0ONCALL> <https://example.org|site> <javascript:alert(1)|click> "
        "&lt;b&gt; `<!here>`')"
    )
    assert "<b>bold</b>" in html and "@Otto On-call" in html
    assert '<a href="https://example.org"' in html
    assert "javascript" not in html and "&lt;b&gt;" in html and "<code>&lt;!here&gt;</code>" in html

    page.locator("#sidebar a", has_text="servicedesk Home").click()
    expect(page.locator("#messages .home")).to_contain_text(incident.key)
    shot(page, "home", tmp_path)


def test_a_reports_charts_show_in_its_thread(page: Page, tmp_path: Path) -> None:
    act_as(page, sandbox.MANAGER)
    open_channel(page, "service-reports")
    command(page, "/servicedesk report")
    # Asked for by hand, the report comes as a direct message.
    open_channel(page, "servicedesk")
    report = page.locator("#messages .message:not(.ephemeral)", has_text="Service report").last
    report.locator(".replies").click()
    chart = page.locator("#thread .file img").first
    expect(chart).to_be_visible()
    # The image really loaded from the stand-in's /files/ (a PNG the bot uploaded).
    assert chart.evaluate("img => img.complete && img.naturalWidth") > 100
