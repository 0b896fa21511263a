"""A websocket fuzzer for `serve`: malformed, oversized and hostile messages over loopback.

Each connection opens with a hello (good or bad), then sends a random mix of what a broken or
hostile client might: invalid JSON, deep nesting, huge numbers, odd-length or oversized PCM,
unknown types, floods, path-traversal avatar and persona names, a second hello — and some
connections just drop mid-stream. The server must answer each with an error event or a close,
and go on serving everyone else. Used by `companion bench soak` and, bounded, by the suite.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field

from companion.server.protocol import MAX_MESSAGE, MIC

HELLOS = (
    {"type": "hello", "protocol": 1, "avatar": "mona-lisa"},
    {"type": "hello", "protocol": 1, "avatar": "../../../etc/passwd"},
    {"type": "hello", "protocol": 1, "avatar": "/etc/hostname"},
    {"type": "hello", "protocol": 1, "avatar": "mona-lisa", "persona": "../../secrets"},
    {"type": "hello", "protocol": 99},
    {"type": "hello", "protocol": 1, "avatar": ["x"] * 3},
    {"type": "text", "text": "not a hello"},
)


def _hostile(rng: random.Random) -> str | bytes:
    """One message a broken or hostile client might send after its hello."""
    pick = rng.randrange(14)
    if pick == 0:
        return "{not json"
    if pick == 1:
        return "[" * rng.choice((50, 5000, 30000)) + "]" * 10
    if pick == 2:
        return json.dumps({"type": "ping", "t": 0}).replace("0", "9" * rng.choice((30, 4000)))
    if pick == 3:
        return '{"type": "ping", "t": 1e999}'
    if pick == 4:
        return bytes([MIC]) + rng.randbytes(rng.randrange(1, 400) * 2 + 1)  # odd length
    if pick == 5:
        return bytes([0x7F]) + rng.randbytes(64)  # unknown binary type
    if pick == 6:
        return bytes([MIC]) + bytes(MAX_MESSAGE + 10)  # over the size limit
    if pick == 7:
        return json.dumps({"type": rng.choice(("hack", "", None, 5)), "x": 1})
    if pick == 8:
        return json.dumps({"type": "hello", "protocol": 1, "avatar": "mona-lisa"})  # again
    if pick == 9:
        return json.dumps({"type": "text", "text": rng.choice(("", " ", "x" * 5000,
                                                             "héllo 🌍 \u202e", {"a": 1}))})
    if pick == 10:
        return json.dumps({"type": "ptt", "down": rng.choice((True, False, "yes", None))})
    if pick == 11:
        return json.dumps({"type": "mode", "handsfree": rng.choice((True, False, [1]))})
    if pick == 12:
        return rng.randbytes(rng.randrange(0, 200))
    return bytes([MIC]) + rng.randbytes(1024)  # noise as microphone audio


@dataclass
class FuzzResult:
    connections: int = 0
    messages_sent: int = 0
    error_events: int = 0
    closed_by_server: int = 0
    dropped_by_client: int = 0
    refused: int = 0
    close_codes: dict[int, int] = field(default_factory=dict)


async def _one(url: str, rng: random.Random, messages: int, result: FuzzResult,
               origin: str | None) -> None:
    import websockets
    from websockets.exceptions import ConnectionClosed, InvalidHandshake
    from websockets.typing import Origin

    result.connections += 1
    try:
        async with websockets.connect(url, max_size=2**23, open_timeout=20, ping_interval=None,
                                      origin=Origin(origin) if origin else None) as ws:
            # half come in properly first, to reach the conversation with the rest
            hello = HELLOS[0] if rng.random() < 0.5 else rng.choice(HELLOS[1:])
            await ws.send(json.dumps(hello))
            result.messages_sent += 1
            drop_at = rng.randrange(messages) if rng.random() < 0.3 else -1
            for i in range(messages):
                if i == drop_at:
                    result.dropped_by_client += 1
                    return  # the client vanishes mid-stream
                burst = 200 if rng.random() < 0.03 else 1  # now and then a flood
                for _ in range(burst):
                    await ws.send(_hostile(rng))
                    result.messages_sent += 1
                await _drain(ws, result)
                await asyncio.sleep(rng.random() * 0.01)
            await _drain(ws, result, wait_s=0.2)
    except ConnectionClosed as e:
        result.closed_by_server += 1
        code = e.rcvd.code if e.rcvd is not None else 1006
        result.close_codes[code] = result.close_codes.get(code, 0) + 1
    except InvalidHandshake:  # refused before the websocket opened (session cap, origin)
        result.refused += 1
    except (OSError, TimeoutError):
        result.closed_by_server += 1


async def _drain(ws: object, result: FuzzResult, wait_s: float = 0.0) -> None:
    """Read what the server sent so far (error events are counted; frames are dropped)."""
    while True:
        try:
            msg = await asyncio.wait_for(ws.recv(), timeout=wait_s or 0.001)  # type: ignore[attr-defined]
        except TimeoutError:
            return
        if isinstance(msg, str) and '"error"' in msg:
            result.error_events += 1


async def fuzz(url: str, connections: int = 40, messages: int = 300, parallel: int = 4,
               seed: int = 0, origin: str | None = None) -> FuzzResult:
    """`connections` hostile clients, `parallel` at a time, each sending ~`messages`."""
    rng = random.Random(seed)
    result = FuzzResult()
    sem = asyncio.Semaphore(parallel)

    async def run(i: int) -> None:
        async with sem:
            await _one(url, random.Random(rng.random() + i), messages, result, origin)

    await asyncio.gather(*(run(i) for i in range(connections)))
    return result
