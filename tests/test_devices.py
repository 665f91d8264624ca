"""Devices: storage (stable ids, cap, one owner per device) and the devices API."""

import base64
import json
import os
import time

import pytest

from notifier.stores.devices import device_id, endpoint_allowed, is_device_id

FCM_TOKEN = "fcm-token_" + "a" * 140 + ":APA91b"
APNS_TOKEN = "ab" * 32


def web_keys() -> dict[str, str]:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return {"p256dh": b64(b"\x04" + os.urandom(64)), "auth": b64(os.urandom(16))}


def test_device_ids_are_stable_and_shaped():
    first = device_id("fcm", FCM_TOKEN)
    assert first == device_id("fcm", FCM_TOKEN) != device_id("apns", FCM_TOKEN)
    assert is_device_id(first) and first.startswith("fcm_")
    assert is_device_id(device_id("web", "https://fcm.googleapis.com/fcm/send/x"))
    assert not is_device_id("fcm_xyz") and not is_device_id(None)


def test_endpoint_allowlist():
    hosts = ["fcm.googleapis.com", "*.notify.windows.com"]
    assert endpoint_allowed("https://fcm.googleapis.com/fcm/send/abc", hosts)
    assert endpoint_allowed("https://wns2-db5p.notify.windows.com/w/?token=x", hosts)
    assert not endpoint_allowed("https://notify.windows.com/x", hosts)
    assert not endpoint_allowed("http://fcm.googleapis.com/fcm/send/abc", hosts)
    assert not endpoint_allowed("https://fcm.googleapis.com.evil.example/x", hosts)
    assert not endpoint_allowed("https://user:pw@fcm.googleapis.com/x", hosts)
    assert not endpoint_allowed("https://127.0.0.1/x", hosts)
    assert not endpoint_allowed("https://evilnotify.windows.com/x", hosts)


def test_registering_again_refreshes_and_keeps_created_at(store):
    devices = store.devices
    first = devices.add_mobile("u1", "fcm", FCM_TOKEN, "Pixel")
    again = devices.add_mobile("u1", "fcm", FCM_TOKEN, "Pixel 8")
    assert first.created and not again.created
    assert again.device.id == first.device.id
    assert again.device.created_at == first.device.created_at
    assert again.device.label == "Pixel 8"
    assert [d.id for d in devices.list("u1")] == [first.device.id]


def test_targets_per_channel(store):
    devices = store.devices
    keys = web_keys()
    web = devices.add_web("u1", "https://fcm.googleapis.com/fcm/send/abc", keys, "Chrome").device
    fcm = devices.add_mobile("u1", "fcm", FCM_TOKEN).device
    apns = devices.add_mobile("u1", "apns", APNS_TOKEN).device
    devices.add_mobile("u2", "fcm", "other-user-token-" + "b" * 30)
    [target] = devices.targets("u1", "web_push")
    assert (target.id, target.kind) == (web.id, "webpush")
    assert target.address == {"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": keys}
    mobile = {t.id: t for t in devices.targets("u1", "mobile_push")}
    assert set(mobile) == {fcm.id, apns.id}
    assert mobile[fcm.id].kind == "fcm" and mobile[fcm.id].address == {"token": FCM_TOKEN}
    assert mobile[apns.id].kind == "apns" and mobile[apns.id].address == {"token": APNS_TOKEN}
    assert devices.targets("u1", "email") == [] and devices.targets("nobody", "web_push") == []
    assert devices.remove("u1", fcm.id) and not devices.remove("u1", fcm.id)
    assert [t.id for t in devices.targets("u1", "mobile_push")] == [apns.id]


def test_cap_drops_the_device_registered_longest_ago(store, redis_client):
    devices = store.devices
    cap = devices.max_devices
    ids = []
    for i in range(cap):  # registered_at has millisecond resolution: one per millisecond
        ids.append(devices.add_mobile("u1", "fcm", f"token-number-{i:04d}-" + "x" * 20).device.id)
        time.sleep(0.002)
    # Refreshing the oldest makes the second-oldest the one to go.
    devices.add_mobile("u1", "fcm", "token-number-0000-" + "x" * 20)
    extra = devices.add_mobile("u1", "fcm", "one-more-token-" + "y" * 20)
    assert extra.created and extra.evicted == (ids[1],)
    held = {d.id for d in devices.list("u1")}
    assert len(held) == cap and ids[0] in held and ids[1] not in held
    assert redis_client.get(f"t:device-owner:{ids[1]}") is None


def test_a_device_belongs_to_one_user_at_a_time(store, redis_client):
    devices = store.devices
    endpoint = "https://fcm.googleapis.com/fcm/send/shared-browser"
    alice = devices.add_web("alice", endpoint, web_keys()).device
    moved = devices.add_web("bob", endpoint, web_keys())
    assert moved.previous_owner == "alice" and moved.device.id == alice.id
    assert devices.list("alice") == [] and [d.id for d in devices.list("bob")] == [alice.id]
    # Alice removing it (e.g. from a stale page) cannot take it from Bob.
    assert not devices.remove("alice", alice.id)
    assert redis_client.get(f"t:device-owner:{alice.id}") == b"bob"
    assert devices.remove("bob", alice.id)
    assert redis_client.get(f"t:device-owner:{alice.id}") is None


# -- the API ---------------------------------------------------------------------

def test_register_list_and_remove_through_the_api(client, auth):
    url = "/api/v1/users/alice/devices"
    made = client.post(url, headers=auth, json={"platform": "fcm", "token": FCM_TOKEN,
                                                "label": "  Pixel  8 "})
    assert made.status_code == 201, made.json
    device = made.json["device"]
    assert made.json["created"] is True and made.json["evicted"] == []
    assert device["platform"] == "fcm" and device["label"] == "Pixel 8"
    assert FCM_TOKEN not in made.text
    again = client.post(url, headers=auth, json={"platform": "fcm", "token": FCM_TOKEN})
    assert again.status_code == 200 and again.json["device"]["id"] == device["id"]
    apns = client.post(url, headers=auth, json={"platform": "apns", "token": APNS_TOKEN.upper()})
    assert apns.status_code == 201
    listed = client.get(url, headers=auth).json["devices"]
    assert [d["id"] for d in listed] == [apns.json["device"]["id"], device["id"]]
    assert client.get("/api/v1/users/bob/devices", headers=auth).json == {"devices": []}
    assert client.delete(f"/api/v1/users/bob/devices/{device['id']}",
                         headers=auth).status_code == 404
    assert client.delete(f"{url}/{device['id']}", headers=auth).status_code == 204
    assert client.delete(f"{url}/{device['id']}", headers=auth).status_code == 404
    assert [d["id"] for d in client.get(url, headers=auth).json["devices"]] == [
        apns.json["device"]["id"]]


@pytest.mark.parametrize(("body", "field"), [
    ({"platform": "gcm", "token": FCM_TOKEN}, "platform"),
    ({"token": FCM_TOKEN}, "platform"),
    ({"platform": "fcm"}, "token"),
    ({"platform": "fcm", "token": "short"}, "token"),
    ({"platform": "fcm", "token": "bad token with spaces and more than twenty"}, "token"),
    ({"platform": "apns", "token": "zz" * 32}, "token"),
    ({"platform": "apns", "token": "ab" * 31}, "token"),
    ({"platform": "fcm", "token": 12345}, "token"),
    ({"platform": "fcm", "token": FCM_TOKEN, "label": "x" * 101}, "label"),
    ({"platform": "fcm", "token": FCM_TOKEN, "label": "a\x00b"}, "label"),
    ({"platform": "fcm", "token": FCM_TOKEN, "label": "Pixel\t8"}, "label"),
    ({"platform": "fcm", "token": FCM_TOKEN, "label": "Pixel\n8"}, "label"),
    ({"platform": "fcm", "token": FCM_TOKEN, "label": "Pixel \u202e8"}, "label"),
    ({"platform": "fcm", "token": FCM_TOKEN, "label": "\u200b\u200b"}, "label"),
    ({"platform": "fcm", "token": FCM_TOKEN, "colour": "red"}, "colour"),
])
def test_bad_registrations_name_the_field(client, auth, body, field, redis_client):
    response = client.post("/api/v1/users/alice/devices", headers=auth, json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    assert redis_client.exists("t:{u:alice}:devices") == 0


def test_bad_requests_never_500(client, auth):
    url = "/api/v1/users/alice/devices"
    assert client.post(url, headers=auth, data="{").status_code == 400
    assert client.post(url, headers=auth, data="[]").status_code == 422
    assert client.post(url, headers=auth, data=json.dumps("x")).status_code == 422
    assert client.post("/api/v1/users/a%7Bb/devices", headers=auth,
                       json={"platform": "fcm", "token": FCM_TOKEN}).json["error"]["field"] \
        == "user_id"
    assert client.delete(f"{url}/nope", headers=auth).json["error"]["field"] == "device_id"
    assert client.get(url).status_code == 401
