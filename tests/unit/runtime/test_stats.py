"""What the runtime counts: buckets, close labels, the inlined observation, observers."""

from __future__ import annotations

import itertools
import logging

import pytest

import pachinko
from pachinko.runtime import loop
from pachinko.runtime.stats import BOUNDS, OTHER, TypeStats, close_label
from pachinko.testing import WebSocketSimulator


def test_a_duration_lands_in_the_first_bucket_whose_bound_it_does_not_exceed() -> None:
    stats = TypeStats("t")
    for seconds in (0.0001, BOUNDS[0], 0.0006, 0.001, 10.0, 11.0):
        stats.observe(seconds)
    counts = stats.counts()
    assert len(counts) == len(BOUNDS) + 1  # +Inf last
    assert counts[:2] == [2, 2]  # <= 0.5 ms; (0.5 ms, 1 ms]
    assert counts[-2:] == [1, 1]  # (5 s, 10 s]; +Inf
    assert stats.received == 6
    assert stats.seconds == pytest.approx(21.0022)


@pytest.mark.parametrize(
    ("code", "by_server", "label"),
    [(1000, False, "1000"), (4321, False, OTHER), (3000, False, OTHER), (4321, True, "4321")],
)
def test_client_chosen_close_codes_beyond_the_standard_ones_are_other(
    code: int, by_server: bool, label: str
) -> None:
    assert close_label(code, by_server) == label


async def reply(conn: pachinko.Connection, payload: int) -> int:
    return payload + 1


async def quiet(conn: pachinko.Connection, payload: object) -> None:
    return None


class Recorder:
    """An extension that records its observation points."""

    config = dict

    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    def setup(self, app: object, router: pachinko.WebSocketRouter) -> None:
        self.events.append(("setup", router))
        router.stats.is_counting_messages = True

    def connected(self, conn: pachinko.Connection) -> None:
        self.events.append(("connected", conn.id))

    def disconnected(self, conn: pachinko.Connection, code: int | None) -> None:
        self.events.append(("disconnected", conn.id, code))


def app_with(recorder: Recorder) -> tuple[pachinko.App, pachinko.WebSocketRouter]:
    router = pachinko.WebSocketRouter(limits=pachinko.Limits(rate_count=0))
    router.add_route("/ws", messages={"reply": reply, "quiet": quiet})
    return pachinko.App(router=router, extensions=[recorder]), router


@pytest.mark.parametrize("step", [0.0003, 0.003], ids=["fast-bucket", "bisected"])
async def test_the_inlined_observation_and_observe_agree_under_the_same_clock(
    monkeypatch: pytest.MonkeyPatch, step: float
) -> None:
    # Each clock reading is `step` after the previous one: both paths time one step.
    ticks = itertools.count(start=1000.0, step=step)
    monkeypatch.setattr(loop, "monotonic", lambda: next(ticks))
    app, router = app_with(Recorder())
    async with WebSocketSimulator(app) as sim, sim.connect("/ws") as conn:
        await conn.send_message("quiet", id=1)  # no reply: `TypeStats.observe`
        await conn.send_message("reply", 1, id=2)  # a reply: the loop's inlined copy
        assert (await conn.receive_json())["payload"] == 2
        await conn.send_message("reply", "one", id=3)  # refused by its schema
        assert (await conn.receive_json())["payload"]["code"] == "invalid_payload"
    (route,) = router.stats.routes
    inlined, method = route.types["reply"], route.types["quiet"]
    assert inlined.counts() == method.counts()
    bucket = next(i for i, bound in enumerate(BOUNDS) if step <= bound)
    assert inlined.counts()[bucket] == 1
    assert inlined.seconds == pytest.approx(method.seconds)
    assert (inlined.received, method.received, route.other.received) == (2, 1, 0)


async def test_extensions_are_set_up_once_and_told_of_each_connection() -> None:
    recorder = Recorder()
    app, router = app_with(recorder)
    async with WebSocketSimulator(app) as sim:
        async with sim.connect("/ws") as first:
            await first.send_message("reply", 1, id=1)
            await first.receive_json()
        async with sim.connect("/ws") as second:
            await second.close(4001)
    kinds = [event[0] for event in recorder.events]
    assert kinds == ["setup", "connected", "disconnected", "connected", "disconnected"]
    assert recorder.events[0][1] is router
    assert recorder.events[1][1] == recorder.events[2][1] != recorder.events[3][1]
    assert (recorder.events[2][2], recorder.events[4][2]) == (1000, 4001)
    (route,) = router.stats.routes
    assert (route.opened, route.closed, route.closes) == (2, 2, {"1000": 1, OTHER: 1})


async def test_a_server_side_close_is_one_log_line_with_its_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = pachinko.WebSocketRouter(limits=pachinko.Limits(rate_count=1, rate_per=60, burst=2))
    router.add_route("/rooms/{room}", messages={"reply": reply})
    app = pachinko.App(router=router)
    with caplog.at_level(logging.INFO, logger="pachinko"):
        async with WebSocketSimulator(app) as sim, sim.connect("/rooms/a") as conn:
            for n in range(4):  # one allowed, then refusals until `burst` in a row
                await conn.send_message("reply", n)
            assert await conn.wait_closed() == 1008
    (line,) = [r for r in caplog.records if r.getMessage().startswith("closing connection")]
    assert (line.levelname, line.route, line.close_code) == ("WARNING", "/rooms/{room}", 1008)
    assert line.connection_id in line.getMessage()
