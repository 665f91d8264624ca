"""A server's first start: the first admin's password goes to a 0600 file, never a log."""

import stat
import time

import httpx

from conftest import CSRF_INPUT, LiveServer, live_env


def test_the_first_admin_password_is_in_a_private_file_and_no_log(redis_server, redis_client,
                                                                   tmp_path):
    instance = tmp_path / "instance"
    env = {**live_env(redis_server.url, instance), "NOTIFIER_BOOTSTRAP_ADMIN": "true",
           "NOTIFIER_KEY_PREFIX": "boot", "NOTIFIER_SCHEDULER": "false"}
    server = LiveServer(env, workers=2)
    try:
        path = instance / "first-admin-password"
        deadline = time.monotonic() + 20
        while "first admin" not in server.log.read_text():
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.1)
        password = path.read_text().strip()
        assert len(password) >= 16
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        log = server.log.read_text()
        assert password not in log
        assert f"username admin; its password is in {path}" in log
        assert "delete the file after signing in" in log
        assert log.count("created the first admin account") == 1  # one worker made it
        with httpx.Client(base_url=server.url, timeout=10) as browser:
            page = browser.get("/login")
            signed_in = browser.post("/login", data={
                "username": "admin", "password": password,
                "csrf_token": CSRF_INPUT.search(page.text).group(1)})
            assert signed_in.status_code == 302
            assert browser.get("/admin").status_code == 200
    finally:
        server.stop()
        for key in redis_client.scan_iter("boot:*"):
            redis_client.delete(key)
    assert password not in server.log.read_text()
