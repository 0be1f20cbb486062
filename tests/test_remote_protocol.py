"""The wire format alone: frames, events with binary payloads, request checking."""
from __future__ import annotations

import json

import pytest

from tuirnn.core.events import ProbeCompleted, SampleGenerated, StepsCompleted, to_json_dict
from tuirnn.remote import protocol
from tuirnn.remote.protocol import FrameReader, ProtocolError, parse_request


def decode_all(data: bytes, chunk: int) -> list:
    """Feed `data` to a reader `chunk` bytes at a time; rebuild the events."""
    reader, frames = FrameReader(), []
    for i in range(0, len(data), chunk):
        frames += reader.feed(data[i:i + chunk])
    events, i = [], 0
    while i < len(frames):
        d = json.loads(frames[i][1])
        n = protocol.binary_count(d)
        events.append(protocol.decode_event(d, [p for _, p in frames[i + 1:i + 1 + n]]))
        i += 1 + n
    return events


def test_events_round_trip_whole_and_byte_by_byte():
    probe = ProbeCompleted(7, "ab", "lstm", 1, 2, 1, h=b"\x01" * 16, c=b"\x02" * 16,
                           top_ids=b"\0" * 8, top_probs=b"\3" * 8, vocab="ab", request_id=5)
    evs = [StepsCompleted(3, 0.5, (1.5, 2.5), 0.01, 10.0, 1.0),
           SampleGenerated(3, "héllo\n", "", 0.8, 0, 1, None, 0.5), probe]
    data = b"".join(protocol.encode_event(e) for e in evs)
    assert decode_all(data, len(data)) == evs
    assert decode_all(data, 1) == evs          # frames split anywhere still parse
    # the JSON frame is events.jsonl's form, plus the names of the binary frames after it
    first = json.loads(FrameReader().feed(protocol.encode_event(probe))[0][1])
    assert first.pop("binary") == ["h", "c", "top_ids", "top_probs"]
    assert first == json.loads(json.dumps(to_json_dict(probe)))


def test_empty_byte_fields_send_no_frame():
    gru = ProbeCompleted(1, "a", "gru", 1, 1, 1, h=b"1234", c=b"", top_ids=b"0000",
                         top_probs=b"0000", vocab="a")
    frames = FrameReader().feed(protocol.encode_event(gru))
    assert len(frames) == 4 and json.loads(frames[0][1])["binary"] == ["h", "top_ids", "top_probs"]
    assert decode_all(protocol.encode_event(gru), 3) == [gru]


def test_reader_refuses_garbage_and_oversized_frames():
    with pytest.raises(ProtocolError) as e:
        FrameReader().feed(b"GET / HTTP/1.1\r\n\r\n")
    assert e.value.code == "garbage"
    with pytest.raises(ProtocolError) as e:
        FrameReader(max_frame=100).feed(protocol.HEADER.pack(b"J", 101))
    assert e.value.code == "too-big"
    with pytest.raises(ProtocolError):
        protocol.parse_json(b"\xff\xfe")
    with pytest.raises(ProtocolError):
        protocol.parse_json(b"[1, 2]")


@pytest.mark.parametrize("payload", [
    b'{"a": ' + b"9" * 5000 + b"}",                 # json.loads: ValueError, not a decode error
    b"[" * 100_000, b'{"a": ' * 10_000,              # RecursionError in the C scanner
    b'{"a": "\xed\xa0\x80"}', b"\xc3",            # bad UTF-8 (an encoded surrogate, cut short)
    b"", b"{}", b"null", b'"x"',
])
def test_parse_json_only_ever_raises_protocol_error(payload):
    for strict in (False, True):
        with pytest.raises(ProtocolError) as e:
            protocol.parse_json(payload, strict=strict)
        assert e.value.code == "garbage"


def test_strict_json_refuses_what_a_request_never_holds():
    ok = b'{"request": "sample", "id": 1, "args": {"seed": 9223372036854775807, "t": 0.5}}'
    assert protocol.parse_json(ok, strict=True)["args"]["seed"] == (1 << 63) - 1
    for odd in (b'{"t": NaN}', b'{"t": -Infinity}', b'{"t": 1e999}', b'{"n": ' + b"1" * 31 + b"}",
                b'{"a": ' + b"[" * 17 + b"]" * 17 + b"}"):
        protocol.parse_json(odd)           # lenient for events: a diverged loss is NaN
        with pytest.raises(ProtocolError):
            protocol.parse_json(odd, strict=True)
    assert protocol.parse_json(b'{"a": ' + b"[" * 15 + b"]" * 15 + b"}", strict=True)
    surrogate = protocol.parse_json(b'{"request": "sample", "id": 1, "args": {"prime": "\\ud800"}}')
    with pytest.raises(ProtocolError, match="surrogate"):
        parse_request(surrogate)
    with pytest.raises(ProtocolError) as e:         # a few unknown names, cut short, not all
        parse_request({"request": "sample", "id": 1, "args": {"x" * 1000 + str(i): 1
                                                              for i in range(1000)}})
    assert len(str(e.value)) < 400 and "995 more" in str(e.value)
    with pytest.raises(ProtocolError, match="of type list"):
        parse_request({"request": [[["deep"]]]})


def test_requests_are_checked_before_they_reach_the_trainer():
    r = parse_request({"request": "sample", "id": 9,
                       "args": {"prime": "ab", "temperature": 1, "length": 5, "seed": None}})
    assert r.kind == "sample" and r.request_id == 9 and r.args["temperature"] == 1.0
    assert parse_request({"request": "pause"}).kind == "pause"
    assert parse_request({"request": "probe", "id": 1, "args": {"text": None, "k": 3}}).args["k"] == 3
    bad = [
        {"request": "explode"},                                    # unknown request
        {"hello": {}},                                             # not a request
        {"request": "sample"},                                     # no id
        {"request": "sample", "id": True},                         # bool is not an id
        {"request": "sample", "id": 1, "args": {"length": "5"}},   # wrong type
        {"request": "sample", "id": 1, "args": {"length": True}},
        {"request": "sample", "id": 1, "args": {"temperature": float("nan")}},
        {"request": "sample", "id": 1, "args": {"temperature": 0}},
        {"request": "sample", "id": 1, "args": {"colour": "red"}},  # unknown argument
        {"request": "probe", "id": 1, "args": {"source": "web"}},
        {"request": "probe", "id": 1, "args": {"k": 0}},
        {"request": "save", "id": 1, "args": {"now": True}},
        {"request": "sample", "id": 1, "args": []},
    ]
    for obj in bad:
        with pytest.raises(ProtocolError):
            parse_request(obj)
    with pytest.raises(ProtocolError, match="unknown request 'explode'"):
        parse_request({"request": "explode"})


def test_major_version():
    assert protocol.major("1.7") == 1 and protocol.major("2.0") == 2
    assert protocol.major("nonsense") == -1
