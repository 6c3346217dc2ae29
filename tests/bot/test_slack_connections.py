"""The Web API client keeps its connections to Slack open between calls (bot/slack_connections).

Against the fake Slack over loopback: calls reuse one connection; a connection the server
closed, or one idle too long, is replaced without the caller noticing; Slack's errors, rate
limits and an unreachable Slack reach slack_sdk's handlers as they did through urllib."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from slack_sdk.errors import SlackApiError

from bot import slack_connections
from bot.settings import load_settings
from bot.slack import make_web_client
from bot.slack_connections import KeptAliveClient
from slackstub import FakeSlack
from tests.conftest import BOT_TOKEN, SIGNING_SECRET


def _client(url: str, **more):  # type: ignore[no-untyped-def]
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=url,
        SLACK_RETRY_BACKOFF_SECONDS=0.001,
        _env_file=None,
        **more,
    )
    return make_web_client(settings)


def test_the_bots_client_keeps_connections(fake_slack) -> None:  # type: ignore[no-untyped-def]
    client = _client(fake_slack.url)
    assert isinstance(client, KeptAliveClient)
    before = fake_slack.connections_accepted
    for n in range(5):
        answer = client.chat_postMessage(channel="C1", text=f"hello {n}")
        assert answer["ok"] and answer["channel"] == "C1"
    assert fake_slack.connections_accepted - before == 1
    assert client.connections.opened == 1
    assert [c.args["text"] for c in fake_slack.calls("chat.postMessage")] == [
        f"hello {n}" for n in range(5)
    ]


def test_a_connection_the_server_closed_is_replaced_and_the_call_sent_once(fake_slack) -> None:  # type: ignore[no-untyped-def]
    client = _client(fake_slack.url)
    client.chat_postMessage(channel="C1", text="first")
    fake_slack._server.close_open_connections()  # Slack ends idle connections when it likes
    time.sleep(0.05)
    origin = ("http", "127.0.0.1", fake_slack._server.server_address[1])
    connection, kept = client.connections.take(origin)
    assert not kept  # seen closed before it was used, so a new one (not connected yet)
    assert client.connections.opened == 2
    connection.close()
    client.chat_postMessage(channel="C1", text="second")
    assert [c.args["text"] for c in fake_slack.calls("chat.postMessage")] == ["first", "second"]


def test_a_kept_connection_that_fails_as_it_is_used_is_retried_once_afresh() -> None:
    """The race the readability check cannot see: the server closes the connection after
    the check. A tiny server that reads a request and closes without answering, the first
    time on each connection after the first answer."""
    answered: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        first = True
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while True:
                    data = _read_request(conn)
                    if data is None:
                        break
                    if not first:
                        # Hangs up on the reused connection without answering.
                        first = True
                        break
                    first = False
                    answered.append(data)
                    body = b'{"ok": true, "channel": "C1", "ts": "1.1"}'
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        # No slack_sdk retry handlers: the second call succeeds by the client's own retry.
        client = KeptAliveClient(
            token="xoxb-t", base_url=f"http://127.0.0.1:{port}/api/", retry_handlers=[]
        )
        client.chat_postMessage(channel="C1", text="one")
        client.chat_postMessage(channel="C1", text="two")
        assert [b"one" in a for a in answered] == [True, False]
        assert b"two" in answered[1]
        assert client.connections.opened == 2
    finally:
        listener.close()


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += conn.recv(65536)
    return body


def test_an_idle_connection_is_not_trusted_after_a_while(fake_slack, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client = _client(fake_slack.url)
    client.chat_postMessage(channel="C1", text="first")
    monkeypatch.setattr(slack_connections, "MAX_IDLE_SECONDS", 0.0)
    time.sleep(0.01)
    client.chat_postMessage(channel="C1", text="second")
    assert client.connections.opened == 2


def test_threads_calling_at_once_each_get_their_own_answer(fake_slack) -> None:  # type: ignore[no-untyped-def]
    client = _client(fake_slack.url)
    answers: dict[int, str] = {}

    def call(n: int) -> None:
        answers[n] = client.chat_postMessage(channel=f"C{n}", text=str(n))["channel"]

    threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {n: f"C{n}" for n in range(8)}
    # Kept for the next calls, up to the pool's bound; the rest closed.
    assert len(
        client.connections._idle[("http", "127.0.0.1", fake_slack._server.server_address[1])]
    ) <= (slack_connections.MAX_IDLE_PER_ORIGIN)


def test_rate_limits_and_slack_errors_reach_slack_sdk_as_before(fake_slack) -> None:  # type: ignore[no-untyped-def]
    client = _client(fake_slack.url)
    fake_slack.fail_next("chat.postMessage", status=429, headers={"Retry-After": "0"})
    assert client.chat_postMessage(channel="C1", text="after a 429")["ok"]
    assert len(fake_slack.calls("chat.postMessage")) == 2
    fake_slack.fail_next("chat.update", status=500, count=3)
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C1", ts="1.1", text="x")
    assert raised.value.response.status_code == 500
    assert len(fake_slack.calls("chat.update")) == 3  # two retries, as slack_sdk does
    # The connection survives Slack's errors.
    assert client.connections.opened == 1
    answer = client.chat_postMessage(channel="C1", text="still here")
    assert answer["ok"] and client.connections.opened == 1


def test_an_unreachable_slack_is_retried_then_raised_as_before() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    client = _client(f"http://127.0.0.1:{port}/api/")
    from urllib.error import URLError

    with pytest.raises(URLError):
        client.chat_postMessage(channel="C1", text="nobody there")
    assert client.connections.opened == 3  # the first try and slack_sdk's two retries


def test_a_stopped_fake_answers_nothing_on_a_kept_connection() -> None:
    fake = FakeSlack().start()
    client = _client(fake.url)
    client.chat_postMessage(channel="C1", text="first")
    fake.stop()
    from urllib.error import URLError

    with pytest.raises(URLError):
        client.chat_postMessage(channel="C1", text="second")


def test_https_connections_share_one_tls_context() -> None:
    """Slack itself is https: every new connection verifies certificates with one context,
    built once (building it reads the system's certificates). Nothing is connected here."""
    import http.client
    import ssl

    pool = slack_connections.ConnectionPool(timeout=5, context=None)
    first = pool.open(("https", "slack.com", 443))
    second = pool.open(("https", "slack.com", 443))
    assert isinstance(first, http.client.HTTPSConnection)
    assert first._context is second._context  # type: ignore[attr-defined]
    assert first._context.verify_mode == ssl.CERT_REQUIRED  # type: ignore[attr-defined]
    assert first._context.check_hostname  # type: ignore[attr-defined]
    assert pool.opened == 2


def test_a_slow_answer_times_out_and_is_not_sent_again(fake_slack) -> None:  # type: ignore[no-untyped-def]
    """As through urllib: a timeout while waiting for the answer is raised, not retried (the
    post may have been made), and the connection it was on is not kept."""
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
        SLACK_RETRY_BACKOFF_SECONDS=0.001,
        _env_file=None,
    )
    client = make_web_client(settings, timeout=1)
    fake_slack.delay("chat.postMessage", 1.5, count=1)
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="slow")
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert client.connections.opened == 1
    time.sleep(0.6)  # the fake answers the slow call on a connection nobody reads any more
    assert client.chat_postMessage(channel="C1", text="next")["ok"]
    assert client.connections.opened == 2


def test_through_a_proxy_slack_sdk_sends_as_before(fake_slack) -> None:  # type: ignore[no-untyped-def]
    """With a proxy, urllib's path (a proxy-aware opener): the fake stands as the proxy here,
    taking the absolute URL a client sends to a proxy."""
    client = KeptAliveClient(token=BOT_TOKEN, base_url=fake_slack.url, proxy=fake_slack.origin)
    assert client.chat_postMessage(channel="C1", text="via the proxy")["ok"]
    assert client.connections.opened == 0
    assert fake_slack.calls("chat.postMessage")[-1].args["text"] == "via the proxy"


def test_a_kept_connection_is_checked_whatever_its_descriptor(fake_slack) -> None:  # type: ignore[no-untyped-def]
    """A process with many files open gives sockets descriptors above 1023, which select()
    refuses: the check still tells an open connection from a closed one there."""
    import os
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1100:
        pytest.skip("this process may not open 1,100 files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1100), hard))
    # Take the low descriptors, so the client's socket gets a high one.
    held = []
    try:
        while not held or held[-1] < 1030:
            held.append(os.open(os.devnull, os.O_RDONLY))
        client = _client(fake_slack.url)
        client.chat_postMessage(channel="C1", text="first")
        origin = ("http", "127.0.0.1", fake_slack._server.server_address[1])
        connection, kept = client.connections.take(origin)
        assert kept and connection.sock.fileno() > 1023
        client.connections.give_back(origin, connection)
        client.chat_postMessage(channel="C1", text="second")
        assert client.connections.opened == 1
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_bolts_client_for_a_request_shares_the_bots_connections(ctx, slack, fake_slack) -> None:  # type: ignore[no-untyped-def]
    """Opening a form (views.open, within Slack's three seconds of the trigger) goes through
    Bolt's client for that request: it uses the bot's kept connections, not a new one each."""
    ctx.client.chat_postMessage(channel="C1", text="the bot's connection, now kept")
    opened = ctx.client.connections.opened
    accepted = fake_slack.connections_accepted
    for _ in range(3):
        slack.command("/incident", "", user_id="U0REPORTER")
    assert len(fake_slack.calls("views.open")) == 3
    assert fake_slack.connections_accepted == accepted  # all three on the kept connection
    assert ctx.client.connections.opened == opened


def test_a_client_resetting_a_kept_connection_leaves_no_traceback(fake_slack, capfd) -> None:  # type: ignore[no-untyped-def]
    """The fake Slack keeps connections; a client that resets one while the fake waits for
    its next request is not an error (CI printed a ConnectionResetError traceback for it)."""
    import struct

    before = fake_slack.connections_accepted
    host, port = fake_slack._server.server_address[:2]
    with socket.create_connection((host, port)) as sock:
        # Linger 0: close() sends a reset instead of a polite end.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        deadline = time.monotonic() + 5
        while fake_slack.connections_accepted == before and time.monotonic() < deadline:
            time.sleep(0.01)  # the fake's thread now waits for a request on it
    time.sleep(0.2)  # the fake's thread meets the reset
    assert "Traceback" not in capfd.readouterr().err
