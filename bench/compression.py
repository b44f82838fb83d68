"""`python -m bench.compression [CONNS COUNT ROUNDS MEMBERS]`: what deflate costs and saves.

Three figures, each with `[app] compression` off and `"deflate"`, under `pachinko
serve`'s own protocol (`bench/serve.py`: `pachinko@serve`, `pachinko@serve+deflate`):

- server CPU µs per message, end to end (the workload's small request/reply frames;
  clients offer deflate to the deflate server), interleaved round by round;
- server CPU µs per broadcast recipient, MEMBERS real clients in one room;
- bytes on the wire per frame for the demo chat's messages and for one large,
  repetitive payload, as websockets' own permessage-deflate (the server's) writes
  them: each frame serialized with its header, over one connection's life (the
  compression context is kept between messages, as both ends negotiate by default).
"""

from __future__ import annotations

import random
import statistics
import sys

import msgspec
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode

VARIANTS = ["pachinko@serve", "pachinko@serve+deflate"]

# NOTE: a made-up conversation in the demo chat's frames (demo/handlers.py). Lines are
# drawn from a vocabulary with a fixed seed, so no line repeats verbatim (the deflate
# context would make an exact repeat nearly free, which real chat does not get).
_WORDS = " ".join(
    [
        "the a to and is it on in for of we you I this that build room page fix now yes no",
        "ok still see new after before lunch today tomorrow test deploy server client nick",
        "history message reconnect timeout faster slower works broken again later maybe sure",
        "thanks please check push merge review release bug tab laptop phone network",
    ]
).split()
_NICKS = ["ada", "grace", "linus", "margaret", "alan"]


def chat_lines(count: int, seed: int = 7) -> list[str]:
    """`count` chat lines of 2 to 14 words, the same for every run."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(_WORDS, k=rng.randint(2, 14))) for _ in range(count)]


def demo_frames(count: int) -> dict[str, list[bytes]]:
    """`count` messages of the demo chat, by frame kind, in the order a client sees them."""
    frames: dict[str, list[bytes]] = {"say (client)": [], "said (broadcast)": [], "say.ok": []}
    for i, text in enumerate(chat_lines(count)):
        nick = _NICKS[i % len(_NICKS)]
        frames["say (client)"].append(
            msgspec.json.encode({"type": "say", "payload": {"text": text}, "id": i})
        )
        frames["said (broadcast)"].append(
            msgspec.json.encode({"type": "said", "payload": {"nick": nick, "text": text}})
        )
        frames["say.ok"].append(
            msgspec.json.encode({"type": "say.ok", "payload": {"ok": True}, "id": i})
        )
    return frames


def large_frames(count: int, seed: int = 7) -> list[bytes]:
    """A large, repetitive payload: a 40-member room's state, 3 members changed each time."""
    rng = random.Random(seed)
    statuses = ["online", "away", "typing", "offline"]
    members = [
        {"connection": f"c{n:04d}", "user": f"{_NICKS[n % 5]}{n}", "status": "online"}
        for n in range(40)
    ]
    frames = []
    for i in range(count):
        for member in rng.sample(members, 3):
            member["status"] = rng.choice(statuses)
        state = {"type": "room.state", "payload": {"seq": i, "members": members}}
        frames.append(msgspec.json.encode(state))
    return frames


def wire_bytes(frames: list[bytes], *, deflate: bool, mask: bool) -> list[int]:
    """Each frame's size on the wire (header included), in one connection's order."""
    extensions = []
    if deflate:
        extensions = [PerMessageDeflate(False, False, 15, 15)]
    return [
        len(Frame(Opcode.TEXT, data).serialize(mask=mask, extensions=extensions)) for data in frames
    ]


def bytes_table(count: int = 200) -> list[tuple[str, float, float, float]]:
    """(frame kind, bytes plain, bytes deflated: first frame, median of the rest)."""
    rows = []
    kinds = {**demo_frames(count), "room.state (40 members)": large_frames(count)}
    for kind, frames in kinds.items():
        mask = kind.endswith("(client)")
        plain = wire_bytes(frames, deflate=False, mask=mask)
        packed = wire_bytes(frames, deflate=True, mask=mask)
        rows.append((kind, statistics.median(plain), packed[0], statistics.median(packed[1:])))
    return rows


def main(argv: list[str]) -> int:
    from bench import network  # NOTE: needs the `bench` extra (psutil); the bytes do not

    conns = int(argv[0]) if argv else 20
    count = int(argv[1]) if len(argv) > 1 else 300
    rounds = int(argv[2]) if len(argv) > 2 else 5
    members = int(argv[3]) if len(argv) > 3 else 500
    print("bytes on the wire per frame (header included; deflate: first, then median)")
    print(f"{'frame':<24} {'plain':>7} {'deflate 1st':>12} {'deflate':>8} {'saved':>6}")
    for kind, plain, first, rest in bytes_table():
        print(f"{kind:<24} {plain:>7.0f} {first:>12.0f} {rest:>8.0f} {1 - rest / plain:>6.0%}")

    def log(line: str) -> None:
        print(line, file=sys.stderr)

    e2e = network.end_to_end_interleaved(VARIANTS, conns, count, rounds, log)
    fanout = {}
    for name in VARIANTS:
        server = network.Server(name)
        try:
            log(f"  {name}: broadcast to {members} members")
            fanout[name] = network.broadcast(server, members, 7)
        finally:
            server.stop()
    print(f"\n{conns} clients x {count} round trips, {rounds} rounds; {members} recipients")
    print(f"{'server':<24} {'cpu us/msg':>10} {'cpu us/recipient':>17} {'p99 ms':>8}")
    for name in VARIANTS:
        cpu, p99 = e2e[name]["server_cpu_us_per_msg"], e2e[name]["p99_ms"]
        per = fanout[name]["server_cpu_us_per_recipient"]
        print(f"{name:<24} {cpu:>10.1f} {per:>17.2f} {p99:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
