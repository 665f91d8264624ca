"""Request validation, tested directly on the pydantic models."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from notifier.core.errors import from_validation_error
from notifier.model.requests import (
    FIRING,
    MAX_DATA_BYTES,
    BatchRequest,
    MarkReadRequest,
    SendRequest,
)


def problem(model, body: dict, root_field=None):
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    error = from_validation_error(caught.value, root_field)
    return error.status, error.field


def test_minimal_send_gets_defaults():
    request = SendRequest.model_validate({"user_id": "u1", "title": "Hi"})
    assert (request.type, request.priority, request.body, request.data, request.link) == (
        "general", "normal", "", {}, None)
    assert request.recipients() == ["u1"]


def test_recipients_keep_order_and_drop_repeats():
    request = SendRequest.model_validate({"user_ids": ["b", "a", "b"], "title": "Hi"})
    assert request.recipients() == ["b", "a"]


@pytest.mark.parametrize("title, ok", [("x", True), ("x" * 200, True), ("x" * 201, False),
                                       ("", False), ("   ", False), (5, False)])
def test_title_length(title, ok):
    body = {"user_id": "u", "title": title}
    if ok:
        SendRequest.model_validate(body)
    else:
        assert problem(SendRequest, body) == (422, "title")


def test_body_length():
    SendRequest.model_validate({"user_id": "u", "title": "t", "body": "b" * 2000})
    assert problem(SendRequest, {"user_id": "u", "title": "t", "body": "b" * 2001}) == (422, "body")


def test_data_size_boundary():
    # {"k":"..."} is 8 bytes of JSON around the value.
    exact = {"k": "v" * (MAX_DATA_BYTES - 8)}
    SendRequest.model_validate({"user_id": "u", "title": "t", "data": exact})
    over = {"k": "v" * (MAX_DATA_BYTES - 7)}
    assert problem(SendRequest, {"user_id": "u", "title": "t", "data": over}) == (422, "data")
    assert problem(SendRequest, {"user_id": "u", "title": "t", "data": [1]}) == (422, "data")


@pytest.mark.parametrize("link, ok", [
    ("https://example.com/x?y=1", True), ("http://localhost:8000/", True),
    ("javascript:alert(1)", False), ("data:text/html,hi", False), ("//evil.example", False),
    ("https://", False), ("ftp://example.com", False),
])
def test_link_must_be_http(link, ok):
    body = {"user_id": "u", "title": "t", "link": link}
    if ok:
        SendRequest.model_validate(body)
    else:
        assert problem(SendRequest, body) == (422, "link")


@pytest.mark.parametrize("user_id, ok", [
    ("a", True), ("x" * 64, True), ("user@example.com", True), ("org:42_a.b-c", True),
    ("", False), ("x" * 65, False), ("a b", False), ("a*", False), ("{u}", False), ("é", False),
])
def test_user_id_pattern(user_id, ok):
    body = {"user_id": user_id, "title": "t"}
    if ok:
        SendRequest.model_validate(body)
    else:
        assert problem(SendRequest, body) == (422, "user_id")


def test_priority_and_type():
    assert problem(SendRequest, {"user_id": "u", "title": "t", "priority": "max"}) == (
        422, "priority")
    assert problem(SendRequest, {"user_id": "u", "title": "t", "type": "Has Space"}) == (
        422, "type")


def test_expires_at_must_be_aware_and_future():
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    SendRequest.model_validate_json(f'{{"user_id": "u", "title": "t", "expires_at": "{future}"}}')
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    assert problem(SendRequest, {"user_id": "u", "title": "t", "expires_at": past})[1] == (
        "expires_at")
    naive = datetime.now().replace(tzinfo=None) + timedelta(hours=1)
    assert problem(SendRequest, {"user_id": "u", "title": "t",
                                 "expires_at": naive.isoformat()})[1] == "expires_at"


def test_exactly_one_target():
    assert problem(SendRequest, {"title": "t"}, "user_id") == (422, "user_id")
    assert problem(SendRequest, {"title": "t", "user_id": "a", "user_ids": ["b"]},
                   "user_id") == (422, "user_id")
    assert problem(SendRequest, {"title": "t", "user_ids": []}) == (422, "user_ids")
    too_many = [f"u{i}" for i in range(1001)]
    assert problem(SendRequest, {"title": "t", "user_ids": too_many}) == (422, "user_ids")
    assert problem(SendRequest, {"title": "t", "user_ids": ["ok", "not ok"]}) == (
        422, "user_ids[1]")


def test_unknown_fields_are_rejected():
    status, field = problem(SendRequest, {"user_id": "u", "title": "t", "tittle": "x"})
    assert (status, field) == (422, "tittle")


def test_batch_names_the_failing_item():
    items = [{"user_id": f"u{i}", "title": "t"} for i in range(10)]
    items[7]["title"] = ""
    assert problem(BatchRequest, {"notifications": items}) == (422, "notifications[7].title")


def test_mark_read_modes():
    assert MarkReadRequest.model_validate({"all": True, "up_to": "1-0"}).all
    assert MarkReadRequest.model_validate({"ids": ["1-0", "2-5"]}).ids == ["1-0", "2-5"]
    assert problem(MarkReadRequest, {}, "ids") == (422, "ids")
    assert problem(MarkReadRequest, {"ids": ["1-0"], "all": True}, "ids") == (422, "ids")
    assert problem(MarkReadRequest, {"ids": ["nope"]}) == (422, "ids[0]")
    assert problem(MarkReadRequest, {"ids": ["1-0"], "up_to": "1-0"}, "ids") == (422, "ids")


def test_malformed_json_is_a_400():
    with pytest.raises(ValidationError) as caught:
        SendRequest.model_validate_json(b"{not json")
    assert from_validation_error(caught.value).status == 400


def _at(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_send_at_bounds():
    assert SendRequest.model_validate({"user_id": "u", "title": "t",
                                       "send_at": _at(60)}).send_at is not None
    for send_at in (_at(-1), _at(366 * 86400), datetime(2099, 1, 1)):
        assert problem(SendRequest, {"user_id": "u", "title": "t", "send_at": send_at}) == \
            (422, "send_at")
    batch = {"notifications": [{"user_id": "u", "title": "t"}], "send_at": _at(-1)}
    assert problem(BatchRequest, batch) == (422, "send_at")


def test_send_at_must_come_before_every_expiry():
    at = _at(60)
    assert problem(SendRequest, {"user_id": "u", "title": "t", "send_at": at,
                                 "expires_at": at}) == (422, "send_at")
    items = [{"user_id": "u", "title": "t", "expires_at": _at(120)},
             {"user_id": "v", "title": "t", "expires_at": _at(30)}]
    assert problem(BatchRequest, {"notifications": items, "send_at": _at(60)}) == \
        (422, "send_at")
    assert BatchRequest.model_validate({"notifications": items[:1], "send_at": _at(60)})


def test_a_scheduled_request_revalidates_when_its_expiry_has_passed():
    stored = '{"user_id": "u", "title": "t", "expires_at": "2000-01-01T00:00:00Z"}'
    with pytest.raises(ValidationError):
        SendRequest.model_validate_json(stored)
    fired = SendRequest.model_validate_json(stored, context={FIRING: True})
    assert fired.expires_at.year == 2000
