"""Work a listener hands on starts once its request is answered, not while the answer is made."""

from __future__ import annotations

import io
from typing import Any

import pytest
from slack_bolt import BoltRequest

from bot.context import HeldWork, Requester, holding, set_requester
from bot.http import make_wsgi_app
from composition import create_app
from slackstub import requests as slack_requests
from tests.conftest import SIGNING_SECRET, InlineExecutor


class CountingExecutor(InlineExecutor):
    """Runs work at once, as in every other test, and counts what it was handed."""

    def __init__(self) -> None:
        self.handed: list[bool] = []  # for each piece of work: was anything still held then?

    def submit(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.handed.append(holding())
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def counting(ctx):  # type: ignore[no-untyped-def]
    ctx.background = CountingExecutor()
    return ctx.background


def _environ(body: str) -> dict[str, Any]:
    headers = slack_requests.sign(body, SIGNING_SECRET)
    raw = body.encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
        if name.lower() == "content-type":
            environ["CONTENT_TYPE"] = value
    return environ


def _list_command(fake_slack) -> str:  # type: ignore[no-untyped-def]
    # /incident list acks at once and answers through the response URL afterwards.
    return slack_requests.slash_command(
        "/incident", "list", user_id="U0REPORTER", response_url=fake_slack.response_url()
    )


def test_over_http_the_work_starts_when_the_server_closes_the_answer(ctx, counting, fake_slack):
    wsgi = make_wsgi_app(create_app(ctx), ctx.db)
    started: list[str] = []
    answer = wsgi(
        _environ(_list_command(fake_slack)), lambda status, headers: started.append(status)
    )
    assert started == ["200 OK"]
    body = b"".join(answer)
    assert len(answer) == 1  # type: ignore[arg-type]
    # The whole answer is in the server's hands; the listener's follow-up has not started.
    assert counting.handed == []
    assert fake_slack.calls("response_url") == []
    answer.close()  # type: ignore[attr-defined]
    assert counting.handed == [False]
    assert len(fake_slack.calls("response_url")) == 1
    assert body == b""  # the ack itself is empty
    answer.close()  # type: ignore[attr-defined]
    assert counting.handed == [False]  # released once


def test_work_is_released_when_the_answer_cannot_be_started(ctx, counting, fake_slack):
    wsgi = make_wsgi_app(create_app(ctx), ctx.db)

    def gone(status: str, headers: list[tuple[str, str]]) -> None:
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        wsgi(_environ(_list_command(fake_slack)), gone)
    # Not lost: the listener's work still runs.
    assert counting.handed == [False]
    assert len(fake_slack.calls("response_url")) == 1
    assert not holding()


def test_in_process_the_work_starts_when_dispatch_returns(ctx, counting, fake_slack):
    app = create_app(ctx)
    body = _list_command(fake_slack)
    response = app.dispatch(
        BoltRequest(body=body, headers=slack_requests.sign(body, SIGNING_SECRET))
    )
    assert response.status == 200
    assert counting.handed == [False]
    assert len(fake_slack.calls("response_url")) == 1
    assert not holding()


def test_held_follow_ups_run_in_order_once_released(ctx, counting):
    ran: list[int] = []
    with HeldWork() as held:
        assert holding()
        ctx.follow_up(ran.append, 1)
        ctx.follow_up(ran.append, 2)
        assert ran == []
    assert not holding()
    assert ran == []  # leaving the block does not start them
    held.release()
    assert ran == [1, 2]
    held.release()
    assert ran == [1, 2]


def test_work_handed_on_by_released_work_is_not_held_again(ctx, counting):
    ran: list[str] = []

    def first() -> None:
        ctx.follow_up(ran.append, "second")
        ran.append("first")

    with HeldWork() as held:
        ctx.follow_up(first)
    held.release()
    assert ran == ["second", "first"]
    assert counting.handed == [False, False]


def test_outside_a_request_follow_ups_start_at_once(ctx, counting):
    ran: list[int] = []
    ctx.follow_up(ran.append, 1)
    assert ran == [1]


def test_a_failing_held_follow_up_is_apologised_for(ctx, counting, fake_slack):
    url = fake_slack.response_url()

    def broken() -> None:
        raise RuntimeError("boom")

    set_requester(Requester(user_id="U0REPORTER", response_url=url))
    try:
        with HeldWork() as held:
            ctx.follow_up(broken)
    finally:
        set_requester(Requester())
    held.release()
    [call] = fake_slack.calls("response_url")
    assert "something went wrong" in call.args["text"]


def test_work_handed_on_before_answering_failed_still_runs(ctx, counting):
    app = create_app(ctx)
    ran: list[str] = []

    def breaks(req: BoltRequest):  # type: ignore[no-untyped-def]
        ctx.follow_up(ran.append, "handed on")
        raise RuntimeError("answering failed")

    app._answer = breaks  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="answering failed"):
        app.dispatch(BoltRequest(body="", headers={}))
    assert ran == ["handed on"]
    assert not holding()
