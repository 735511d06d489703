"""The guacd → browser relay: whole instructions per message, bytes untouched, in any chunking.

The boundary finder has a fast path for all-ASCII buffers (lengths are then byte counts);
these tests hold it to the code-point path on the same data, and the relay to "what the
browser receives is exactly what guacd sent, cut only between instructions".
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webgate.protocols.guacamole.instruction import InstructionError, Parser, encode
from webgate.protocols.guacamole.relay import Relay, instruction_end, split_complete

texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)
instructions = st.lists(st.lists(texts, min_size=1, max_size=6), max_size=8)


def _raw(items: list[list[str]]) -> bytes:
    return "".join(encode(*i) for i in items).encode()


@given(instructions, st.integers(0, 200))
def test_ascii_fast_path_and_code_point_path_agree(items: list[list[str]], cut: int) -> None:
    raw = _raw(items)[:cut] if cut else _raw(items)
    pos, ends_fast, ends_slow = 0, [], []
    while pos < len(raw):
        try:
            slow = instruction_end(raw, pos, ascii_only=False)
        except InstructionError:
            break
        if slow is None:
            break
        ends_slow.append(slow)
        pos = slow
    if raw.isascii():
        pos = 0
        while pos < len(raw) and (fast := instruction_end(raw, pos, ascii_only=True)) is not None:
            ends_fast.append(fast)
            pos = fast
        assert ends_fast == ends_slow
    done, starts = split_complete(raw)
    assert done == (ends_slow[-1] if ends_slow else 0) and len(starts) == len(ends_slow)


def test_a_multibyte_element_in_an_otherwise_ascii_stream() -> None:
    raw = encode("img", "1", "é😀", "x").encode() + encode("sync", "123").encode()
    assert not raw.isascii()
    done, starts = split_complete(raw)
    assert done == len(raw) and len(starts) == 2
    # with the byte-count reading the first element would end inside "😀": the check sees it
    with pytest.raises(InstructionError):
        instruction_end(raw, 0, ascii_only=True)


async def _relay(chunks: list[bytes]) -> tuple[list[bytes], Relay]:
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    reader.feed_eof()
    sent: list[bytes] = []

    async def send(batch: bytes) -> None:
        sent.append(batch)

    relay = Relay(reader, send)
    await relay.run()
    return sent, relay


@settings(max_examples=60, deadline=None)
@given(instructions, st.integers(1, 9))
def test_every_message_holds_whole_instructions_and_nothing_changes(items: list[list[str]], step: int) -> None:
    raw = _raw([i for i in items if i[0] not in ("error", "disconnect")])
    chunks = [raw[i:i + step] for i in range(0, len(raw), step)]
    sent, relay = asyncio.run(_relay(chunks))
    assert b"".join(sent) == raw and relay.bytes_out == len(raw)
    for message in sent:
        parser = Parser(max_chars=1 << 20, max_elements=1024)
        parser.feed_bytes(message)
        assert parser.pending == 0  # guacamole-common-js needs whole instructions per message


def test_the_relay_stops_before_error_and_disconnect() -> None:
    drawing = encode("size", "0", "1024", "768").encode()
    error = encode("error", "Aborted. See logs.", "519").encode()
    sent, relay = asyncio.run(_relay([drawing + error[:5], error[5:] + encode("sync", "1").encode()]))
    assert b"".join(sent) == drawing and relay.error == error
    sent, relay = asyncio.run(_relay([drawing + b"10.disconnect;" + drawing]))
    assert b"".join(sent) == drawing and relay.error is None
