"""The /ws protocol's pure parts: SSE frames as socket messages, and client messages."""

import json

import pytest

from notifier.core.errors import ApiError
from notifier.live import sse
from notifier.live.ws_protocol import (
    AckMessage,
    EventMessages,
    PingMessage,
    ReadMessage,
    error_reply,
    message_ref,
    parse_client_message,
    reply,
)


def test_one_message_per_event_with_its_data_as_json():
    doc = {"id": "5-0", "title": "Hi\nthere ✓", "data": {"x": "a\r\nevent: forged\n\ndata: x"}}
    chunk = (sse.frame(retry=3000) + sse.comment("connected")
             + sse.with_id("5-0_1-0", sse.json_frame("notification", doc))
             + sse.unread_frame(3))
    messages = [json.loads(m) for m in EventMessages().messages(chunk)]
    assert messages == [{"event": "notification", "id": "5-0_1-0", "data": doc},
                        {"event": "unread", "id": "5-0_1-0", "data": {"unread": 3}}]


def test_the_last_id_carries_across_chunks_as_an_event_sources_does():
    encoder = EventMessages()
    assert encoder.messages(sse.unread_frame(0)) == ['{"event":"unread","id":null,'
                                                     '"data":{"unread":0}}']
    # An id-only frame (a notification the filters hide) has no message of its own ...
    assert encoder.messages(sse.frame(id="7-0_1-0")) == []
    assert encoder.messages(sse.comment("ping")) == []
    assert encoder.messages(sse.frame(retry=1234)) == []
    # ... but the events after it are at its position.
    [message] = encoder.messages(sse.unread_frame(1))
    assert json.loads(message)["id"] == "7-0_1-0"
    assert encoder.last_id == "7-0_1-0"


def test_multi_line_data_is_joined_as_sse_does():
    chunk = sse.frame(event="reset", id="1-0_1-0", data='{"reason":\n"x"}')
    [message] = EventMessages().messages(chunk)
    assert json.loads(message)["data"] == {"reason": "x"}


@pytest.mark.parametrize(("text", "kind"), [
    ('{"type":"ping"}', PingMessage),
    ('{"type":"read","ids":["1-0","b2-0"]}', ReadMessage),
    ('{"type":"read","all":true,"up_to":"3-0_2-0"}', ReadMessage),
    ('{"type":"ack","ids":["1-0"],"ref":"a1"}', AckMessage),
])
def test_good_client_messages(text, kind):
    assert isinstance(parse_client_message(text), kind)


@pytest.mark.parametrize(("text", "code", "field"), [
    ("nope", "invalid_json", None),
    ("1", "invalid_body", None),
    ("{}", "invalid_field", "type"),
    ('{"type":"x"}', "unknown_type", "type"),
    ('{"type":5}', "unknown_type", "type"),
    ('{"type":"read"}', "invalid_field", "ids"),
    ('{"type":"read","ids":["1-0"],"up_to":"1-0"}', "invalid_field", "ids"),
    ('{"type":"read","ids":["1-0", "x"]}', "invalid_field", "ids[1]"),
    ('{"type":"read","all":"yes"}', "invalid_field", "all"),
    ('{"type":"ack"}', "invalid_field", "ids"),
    ('{"type":"ack","ids":' + json.dumps(["1-0"] * 101) + "}", "invalid_field", "ids"),
    ('{"type":"ping","x":1}', "unknown_field", "x"),
    ('{"type":"ping","pad":"' + "x" * 17_000 + '"}', "too_large", None),
    (b'{"type":"ping"}', "invalid_message", None),
])
def test_bad_client_messages_name_the_problem(text, code, field):
    with pytest.raises(ApiError) as raised:
        parse_client_message(text)
    assert (raised.value.code, raised.value.field) == (code, field)


def test_replies():
    assert json.loads(reply("pong")) == {"type": "pong"}
    assert json.loads(reply("ack", "r1", seen=["1-0"])) == {"type": "ack", "seen": ["1-0"],
                                                           "ref": "r1"}
    error = ApiError(422, "invalid_field", "ids: bad", "ids")
    assert json.loads(error_reply(error, "r2")) == {
        "type": "error", "ref": "r2",
        "error": {"code": "invalid_field", "message": "ids: bad", "field": "ids"}}


@pytest.mark.parametrize(("text", "ref"), [
    ('{"type":"nope","ref":"a1"}', "a1"),
    ('{"type":"read","ids":[],"ref":"a1"}', "a1"),
    ('{"ref":"' + "x" * 64 + '"}', "x" * 64),
    ('{"ref":"' + "x" * 65 + '"}', None),  # too long to carry back: the error is about it
    ('{"ref":5}', None),
    ('["ref"]', None),
    ("not json", None),
    (b'{"ref":"a1"}', "a1"),
    (b"\xff\xfe", None),
])
def test_the_ref_of_a_message_that_failed(text, ref):
    assert message_ref(text) == ref


def test_an_error_reply_carries_every_problem():
    with pytest.raises(ApiError) as raised:
        parse_client_message('{"type":"read","ids":["x"],"all":"yes","extra":1}')
    doc = json.loads(error_reply(raised.value, "r"))
    assert doc["ref"] == "r" and doc["error"]["field"] == "extra"
    assert [e["field"] for e in doc["error"]["errors"]] == ["extra", "ids[0]", "all"]
