"""Rooms over a real server: broadcast, exclude_self, presence, history, max_members."""

from __future__ import annotations

import contextlib

from conftest import peer

from pachinko.testing import LiveServer


async def test_broadcast_reaches_every_member_of_the_room_only(chat: LiveServer) -> None:
    async with (
        peer(chat.url + "/ws/chat/bcast") as a,
        peer(chat.url + "/ws/chat/bcast") as b,
        peer(chat.url + "/ws/chat/elsewhere") as outsider,
    ):
        assert (await a.recv())["type"] == "presence.join"  # b came in after a
        await a.send({"type": "say", "payload": {"text": "hello"}})
        said_a, said_b = await a.recv(), await b.recv()
        assert said_a == said_b
        assert said_a["type"] == "said"
        assert said_a["payload"]["text"] == "hello"
        # The outsider's room got nothing: its next frame is its own reply.
        assert (await outsider.ask({"type": "echo", "payload": 1, "id": 1}))["id"] == 1


async def test_exclude_self_skips_the_sender(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/excl") as a, peer(chat.url + "/ws/chat/excl") as b:
        assert (await a.recv())["type"] == "presence.join"
        await a.send({"type": "say_others", "payload": {"text": "not to me"}})
        assert await b.recv() == {"type": "said", "payload": {"text": "not to me"}}
        assert (await a.ask({"type": "echo", "payload": "next", "id": 2}))["payload"] == "next"


async def test_presence_join_and_leave_name_the_connection_and_user(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/presence") as a:
        me = (await a.ask({"type": "whoami", "id": 1}))["payload"]["id"]
        async with peer(chat.url + "/ws/chat/presence") as b:
            joined = await a.recv()
            assert joined["type"] == "presence.join"
            assert joined["payload"]["room"] == "chat:presence"
            assert joined["payload"]["user"] is None
            b_id = joined["payload"]["connection"]
            assert b_id != me
            # The joining connection gets no presence frame about itself.
            assert (await b.ask({"type": "whoami", "id": 2}))["payload"]["id"] == b_id
        left = await a.recv()
        assert left == {
            "type": "presence.leave",
            "payload": {"room": "chat:presence", "connection": b_id, "user": None},
        }


async def test_presence_carries_the_user_from_connection_state(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/users") as a:
        await a.send({"type": "set_user", "payload": "alice"})
        async with peer(chat.url + "/ws/chat/users") as b:
            await b.send({"type": "set_user", "payload": "bob"})
            assert (await a.recv())["payload"]["user"] is None  # b joined before naming itself
        assert (await a.recv())["payload"]["user"] == "bob"


async def test_history_replays_the_last_n_broadcasts_oldest_first(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/chat/hist") as a:
        for n in range(5):
            await a.send({"type": "say", "payload": {"text": f"m{n}"}})
        for _ in range(5):
            await a.recv()
        async with peer(chat.url + "/ws/chat/hist") as late:
            replay = [(await late.recv())["payload"]["text"] for _ in range(3)]
            assert replay == ["m2", "m3", "m4"]
            # Presence frames are not history; then live traffic follows.
            await a.send({"type": "say", "payload": {"text": "live"}})
            assert (await late.recv())["payload"]["text"] == "live"


async def test_joining_a_full_room_at_connect_is_an_error_and_stays_open(chat: LiveServer) -> None:
    async with peer(chat.url + "/ws/small") as first, peer(chat.url + "/ws/small") as second:
        full = await second.recv()
        assert full["type"] == "error"
        assert full["payload"]["code"] == "room_full"
        assert (await second.ask({"type": "echo", "payload": "open", "id": 1}))["id"] == 1
        assert (await first.ask({"type": "echo", "payload": "in", "id": 1}))["payload"] == "in"


async def test_conn_join_of_a_full_room_becomes_a_room_full_frame(chat: LiveServer) -> None:
    async with contextlib.AsyncExitStack() as stack:
        holder = await stack.enter_async_context(peer(chat.url + "/ws/chat/j1"))
        assert await holder.ask({"type": "join_small", "id": 1}) == {
            "type": "join_small.reply",
            "payload": "joined",
            "id": 1,
        }
        other = await stack.enter_async_context(peer(chat.url + "/ws/chat/j2"))
        refused = await other.ask({"type": "join_small", "id": 2})
        assert refused["payload"]["code"] == "room_full"
        assert refused["id"] == 2
