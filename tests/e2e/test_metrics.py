"""`[plugins.prometheus]`, `[app] health` and JSON logs, scraped from a real `pachinko serve`."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPConnection
from typing import Any

import pytest
from conftest import APPS, peer
from served import Samples, Served, aget, scrape, serve, value
from test_lifecycle import never_reading_client
from websockets.exceptions import InvalidStatus

MANIFEST = APPS / "metrics" / "pachinko.toml"
CHAT = "/chat/{room}"
LISTEN = "/listen"


@dataclass
class Conversation:
    """What the scripted conversation saw: metrics before and after, health, the log."""

    before: Samples
    after: Samples
    health: tuple[int, Any]
    log: list[dict[str, Any]]

    def delta(self, name: str, **labels: str) -> float:
        return value(self.after, name, **labels) - value(self.before, name, **labels)


async def converse(server: Served) -> Conversation:
    """Connections, messages, an invalid_payload, a 1009 and a slow-consumer drop."""
    before = await scrape(server.port)
    async with peer(f"{server.url}/chat/a") as talker:
        reply = await talker.ask({"type": "add", "payload": {"a": 1, "b": 2}, "id": 1})
        assert reply == {"type": "add.reply", "payload": 3, "id": 1}
        bad = await talker.ask({"type": "add", "payload": {"a": "x", "b": 2}, "id": 2})
        assert bad["payload"]["code"] == "invalid_payload"
        unknown = await talker.ask({"type": "nope", "id": 3})
        assert unknown["payload"]["code"] == "unknown_type"
        crash = await talker.ask({"type": "boom", "id": 4})
        assert crash["payload"]["code"] == "internal_error"

        async with peer(f"{server.url}/chat/b") as big:
            await big.send("x" * 5000)  # over max_message_bytes = 4096
            assert await big.closed() == 1009
        # NOTE: the watchers hear of a close once the server has counted it.
        assert await talker.recv() == {"type": "gone", "payload": {"code": 1009}}

        slow = await never_reading_client(server.port, LISTEN)
        try:
            # 200 frames of 64 KiB to a member that never reads: dropped with 1013.
            await talker.send({"type": "flood", "payload": 200, "id": 5})
            frames = {frame["type"]: frame for frame in [await talker.recv(), await talker.recv()]}
            assert frames["flood.reply"] == {"type": "flood.reply", "payload": 200, "id": 5}
            assert frames["gone"]["payload"] == {"code": 1013}
        finally:
            slow.close()
        status, body = await aget(server.port, "/health")
        after = await scrape(server.port)
    lines = [json.loads(line) for line in server.log.drain()]
    return Conversation(before, after, (status, json.loads(body)), lines)


@pytest.fixture(scope="module")
def conversation() -> Iterator[Conversation]:
    with serve(MANIFEST, "--log-format", "json") as server:
        yield asyncio.run(converse(server))


def test_connections_are_counted_per_route_template(conversation: Conversation) -> None:
    delta = conversation.delta
    assert delta("pachinko_connections_opened_total", route=CHAT) == 2
    assert delta("pachinko_connections_opened_total", route=LISTEN) == 1
    assert delta("pachinko_connections_open", route=CHAT) == 1  # the talker, still open
    assert delta("pachinko_connections_open", route=LISTEN) == 0
    assert delta("pachinko_connections_closed_total", route=CHAT, code="1009") == 1
    assert delta("pachinko_connections_closed_total", route=LISTEN, code="1013") == 1
    assert delta("pachinko_slow_consumers_dropped_total", route=LISTEN) == 1
    routes = {dict(labels).get("route") for _, labels in conversation.after}
    assert routes <= {CHAT, LISTEN, None}  # never a filled path such as /chat/a


def test_messages_are_counted_by_declared_type_and_others_as_one(
    conversation: Conversation,
) -> None:
    delta = conversation.delta
    received = "pachinko_messages_received_total"
    assert delta(received, route=CHAT, type="add") == 2  # one valid, one invalid_payload
    assert delta(received, route=CHAT, type="boom") == 1
    assert delta(received, route=CHAT, type="flood") == 1
    assert delta(received, route=CHAT, type="hold") == 0
    assert delta(received, route=CHAT, type="other") == 1  # "nope"
    types = {dict(labels).get("type") for name, labels in conversation.after if name == received}
    assert types == {"add", "boom", "flood", "hold", "pid", "block", "other"}


def test_handler_durations_count_the_messages_that_reached_a_handler(
    conversation: Conversation,
) -> None:
    delta = conversation.delta
    count = "pachinko_handler_duration_seconds_count"
    assert delta(count, route=CHAT, type="add") == 1
    assert delta(count, route=CHAT, type="boom") == 1
    assert delta(count, route=CHAT, type="flood") == 1
    inf = "pachinko_handler_duration_seconds_bucket"
    assert delta(inf, route=CHAT, type="add", le="+Inf") == 1
    assert delta("pachinko_handler_duration_seconds_sum", route=CHAT, type="flood") > 0


def test_error_frames_are_counted_per_code(conversation: Conversation) -> None:
    delta = conversation.delta
    errors = "pachinko_error_frames_total"
    assert delta(errors, route=CHAT, code="invalid_payload") == 1
    assert delta(errors, route=CHAT, code="unknown_type") == 1
    assert delta(errors, route=CHAT, code="internal_error") == 1
    assert delta(errors, route=CHAT, code="invalid_json") == 0


def test_broadcasts_recipients_and_frames_add_up(conversation: Conversation) -> None:
    delta = conversation.delta
    assert delta("pachinko_broadcasts_total") == 202  # 200 blobs, two "gone"
    recipients = delta("pachinko_broadcast_recipients_total")
    # The talker got both "gone"; the slow member took blobs until its queue overflowed:
    # how many depends on the kernel's socket buffers, but never fewer than the queue.
    assert 2 + 8 <= recipients <= 2 + 200
    # Direct frames to the talker: add.reply, three error frames, flood.reply.
    assert delta("pachinko_frames_sent_total") == recipients + 5
    assert value(conversation.after, "pachinko_backend_up") == 1


def test_health_answers_ok_with_the_open_connections(conversation: Conversation) -> None:
    assert conversation.health == (200, {"status": "ok", "connections": 1})


def test_json_logs_carry_the_connection_route_type_and_close_code(
    conversation: Conversation,
) -> None:
    lines = conversation.log
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    crash = next(line for line in lines if line["message"].startswith("handler "))
    assert crash["level"] == "ERROR"
    assert crash["logger"] == "pachinko"
    assert (crash["route"], crash["message_type"]) == (CHAT, "boom")
    assert re.fullmatch("[0-9a-f]{32}", crash["connection_id"])
    assert "RuntimeError: boom" in crash["exception"]
    drop = next(line for line in lines if "slow consumer" in line["message"])
    assert (drop["level"], drop["route"], drop["close_code"]) == ("WARNING", LISTEN, 1013)
    assert re.fullmatch("[0-9a-f]{32}", drop["connection_id"])
    assert drop["connection_id"] != crash["connection_id"]


def get_json(http: HTTPConnection, path: str) -> tuple[int, Any]:
    """GET `path` over an open HTTP/1.1 connection (kept alive)."""
    http.request("GET", path)
    answer = http.getresponse()
    return answer.status, json.loads(answer.read())


async def test_health_is_503_draining_while_sigterm_lets_a_handler_finish() -> None:
    with serve(MANIFEST.with_name("drain.toml")) as server:
        # NOTE: a load balancer's kept-alive connection and a new probe both hear 503.
        http = HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            async with peer(f"{server.url}/chat/drain") as holder:
                await holder.send({"type": "hold", "id": 1})
                assert await holder.recv() == {"type": "holding", "payload": None}
                ok = await asyncio.to_thread(get_json, http, "/health")
                assert ok == (200, {"status": "ok", "connections": 1})

                server.process.send_signal(signal.SIGTERM)
                line = await asyncio.to_thread(
                    server.log.wait_for, lambda line: "draining: 1" in line
                )
                # The default text format: level and logger name on pachinko's own lines.
                assert re.match(r"INFO: +pachinko: draining: 1 connection", line), line
                draining = await asyncio.to_thread(get_json, http, "/health")
                assert draining == (503, {"status": "draining", "connections": 1})
                probe = HTTPConnection("127.0.0.1", server.port, timeout=10)
                try:  # a new connection while draining: plain HTTP is still answered
                    fresh = await asyncio.to_thread(get_json, probe, "/health")
                    assert fresh == (503, {"status": "draining", "connections": 1})
                finally:
                    probe.close()
                with pytest.raises(InvalidStatus) as refused:  # a new WebSocket is not
                    async with peer(f"{server.url}/chat/late"):
                        pass
                assert refused.value.response.status_code == 503

                released = await asyncio.to_thread(get_json, http, "/release")
                assert released == (200, "released")
                reply = await holder.recv()
                assert reply == {"type": "hold.reply", "payload": "released", "id": 1}
                assert await holder.closed() == 1001
        finally:
            http.close()
        assert await asyncio.to_thread(server.process.wait, 20) == 0


async def blocked(p: Any, seconds: float) -> None:
    """Block the event loop of the worker serving `p` for `seconds`, from now."""
    await p.send({"type": "block", "payload": seconds})
    assert (await p.recv())["type"] == "blocking"


async def test_with_workers_a_scrape_of_any_worker_adds_up_every_process() -> None:
    with serve(MANIFEST, "--workers", "2") as server:
        async with peer(f"{server.url}/chat/w1") as one:
            first = (await one.ask({"type": "pid"}))["payload"]
            await blocked(one, 1.0)  # so the other worker accepts the next connection
            async with peer(f"{server.url}/chat/w2") as two:
                second = (await two.ask({"type": "pid"}))["payload"]
                assert second != first
                assert (await one.recv())["payload"] == "unblocked"
                for n, p in enumerate((one, two, two)):
                    assert (await p.ask({"type": "add", "payload": {"a": n, "b": 1}}))["payload"]

                def added(samples: Samples) -> tuple[float, float]:
                    name = "pachinko_messages_received_total"
                    return (
                        value(samples, name, route=CHAT, type="add"),
                        value(samples, "pachinko_connections_open", route=CHAT),
                    )

                # NOTE: each worker writes its counts every flush_interval (100 ms) and
                # no event says when: poll until they add up.
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 10
                while added(await scrape(server.port)) != (3, 2):
                    assert loop.time() < deadline, added(await scrape(server.port))
                    await asyncio.sleep(0.1)
                # Then a scrape answered by either worker (the other one blocked) agrees.
                for p in (one, two):
                    await blocked(p, 0.5)
                    assert added(await scrape(server.port)) == (3, 2)
                    assert (await p.recv())["payload"] == "unblocked"
