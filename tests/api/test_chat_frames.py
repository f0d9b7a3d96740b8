"""Parsing and bounding of chat WebSocket frames, and the per-connection token bucket."""
import json

import pytest

from api.chat.frames import MAX_FRAME_CHARS, MAX_MESSAGE_CHARS, FrameError, Ping, SendMessage, parse_frame
from api.chat.rate import TokenBucket


def test_message_and_ping_frames():
    assert parse_frame('{"type": "message", "body": "  hi  ", "client_id": "c1"}') == SendMessage("hi", "c1")
    assert parse_frame('{"type": "ping"}') == Ping()


@pytest.mark.parametrize("text,code", [
    ("not json", "invalid_json"),
    ("[1, 2]", "invalid_frame"),
    ('{"type": "shout"}', "unknown_type"),
    ('{"type": "message"}', "invalid_body"),
    ('{"type": "message", "body": "   "}', "invalid_body"),
    ('{"type": "message", "body": 5}', "invalid_body"),
    (json.dumps({"type": "message", "body": "x" * (MAX_MESSAGE_CHARS + 1)}), "body_too_long"),
    (json.dumps({"type": "message", "body": "x", "client_id": 7}), "invalid_client_id"),
    ('{"type": "message", "body": "a\\u0000b"}', "invalid_body"),
    ('{"type": "message", "body": "lone \\ud800 surrogate"}', "invalid_body"),
    ("x" * (MAX_FRAME_CHARS + 1), "frame_too_large"),
])
def test_bad_frames_name_the_problem(text, code):
    with pytest.raises(FrameError) as err:
        parse_frame(text)
    assert err.value.code == code


def test_token_bucket_allows_a_burst_then_refills_at_the_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5  # one token back at 2/s
    assert bucket.take() is True and bucket.take() is False
    now[0] += 100  # never more than the burst
    assert sum(bucket.take() for _ in range(10)) == 3
