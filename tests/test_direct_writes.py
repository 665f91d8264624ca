"""The hub writing live events straight to idle streams' sockets (notifier.live.socket_writer)."""

import time

import gevent
import gevent.socket
import gevent.ssl
import pytest
from sse_client import SSEStream

from notifier.core.keys import Keys
from notifier.live.socket_writer import SocketWriter
from notifier.stores.worker_stats import WorkerReports

from conftest import TEST_PREFIX


def gunicorn_environ(sock, **extra) -> dict:
    return {"gunicorn.socket": sock, "REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1",
            **extra}


@pytest.fixture
def pair():
    ours, theirs = gevent.socket.socketpair()
    theirs.settimeout(5)
    yield ours, theirs
    ours.close()
    theirs.close()


def read_exactly(sock, size: int) -> bytes:
    """``size`` bytes from ``sock``."""
    data = b""
    while len(data) < size:
        more = sock.recv(size - len(data))
        assert more, "closed early"
        data += more
    return data


def test_frames_are_chunked_for_http_1_1_and_raw_for_http_1_0(pair):
    ours, theirs = pair
    chunked = SocketWriter.for_request(gunicorn_environ(ours))
    assert chunked.send(b"data: x\n\n") == b""
    expected = b"9\r\ndata: x\n\n\r\n"
    assert read_exactly(theirs, len(expected)) == expected
    big = b"d" * 300
    assert chunked.send(big) == b""
    assert read_exactly(theirs, 307) == b"12C\r\n" + big + b"\r\n"
    raw = SocketWriter.for_request(gunicorn_environ(ours, SERVER_PROTOCOL="HTTP/1.0"))
    assert raw.send(b"data: y\n\n") == b""
    assert read_exactly(theirs, 9) == b"data: y\n\n"


@pytest.mark.parametrize("environ", [
    {"gunicorn.socket": None},
    {"REQUEST_METHOD": "HEAD"},
    {"SERVER_PROTOCOL": "HTTP/2"},
], ids=["other server", "HEAD", "HTTP/2"])
def test_only_plain_gunicorn_http_1_streams_qualify(pair, environ):
    assert SocketWriter.for_request(gunicorn_environ(pair[0], **environ)) is None


def test_a_tls_socket_does_not_qualify():
    """gevent's TLS socket (what gunicorn serves https on) frames its own records."""
    context = gevent.ssl.SSLContext(gevent.ssl.PROTOCOL_TLS_CLIENT)
    with context.wrap_socket(gevent.socket.socket(), server_hostname="example.com",
                             do_handshake_on_connect=False) as tls:
        assert isinstance(tls, gevent.socket.socket)
        assert SocketWriter.for_request(gunicorn_environ(tls)) is None


def test_a_full_socket_leaves_the_rest_to_the_blocking_write(pair):
    ours, theirs = pair
    ours.setsockopt(gevent.socket.SOL_SOCKET, gevent.socket.SO_SNDBUF, 4096)
    writer = SocketWriter(ours, chunked=True)
    sent = b""
    rest = b""
    frames = [b"%04d" % i * 250 for i in range(200)]  # 1,000 bytes each
    for frame in frames:
        rest = writer.send(frame)
        wire = b"%X\r\n%s\r\n" % (len(frame), frame)
        sent += wire[:len(wire) - len(rest)]
        if rest:
            assert wire.endswith(rest)
            break
    assert rest, "the socket never filled"
    # The rest goes out blocking (the stream's greenlet) while the client reads.
    reader = gevent.spawn(read_exactly, theirs, len(sent) + len(rest))
    writer.send_rest(rest)
    assert reader.get(timeout=10) == sent + rest


def direct_writes(redis_client, timeout=5.0, above=-1) -> int:
    """The live server's workers' direct_writes, once their reports show more than ``above``."""
    reports = WorkerReports(redis_client, Keys(TEST_PREFIX), interval=1)
    deadline = time.monotonic() + timeout
    while True:
        total = sum(r.get("direct_writes", 0) for r in reports.read_workers())
        if total > above or time.monotonic() > deadline:
            return total
        time.sleep(0.1)


@pytest.mark.parametrize("version", ["1.1", "1.0"])
def test_an_idle_stream_gets_live_events_written_by_the_hub(
        live_server, redis_client, token_for, sender, http, api_key, version):
    user = f"direct-{version}"
    with SSEStream(live_server.url, f"/events?token={token_for(user)}", version=version) as s:
        assert s.status == 200
        assert s.chunked is (version == "1.1")
        assert s.next_of("unread").json() == {"unread": 0}
        time.sleep(0.2)  # the stream's greenlet parks on its queue
        before = direct_writes(redis_client)
        first = sender(user, "one")
        event = s.next_of("notification")
        assert (event.nid, event.json()["title"]) == (first, "one")
        assert s.next_event().json() == {"unread": 1}
        http.post(f"/api/v1/users/{user}/notifications/read", json={"ids": [first]},
                  headers={"Authorization": f"Bearer {api_key}"})
        assert s.next_of("read").json() == {"ids": [first]}
        assert s.next_event().json() == {"unread": 0}
        assert direct_writes(redis_client, above=before + 1) >= before + 2


def test_a_slow_reader_gets_every_event_whole_and_in_order(
        live_server, redis_client, token_for, sender):
    """Events that find the socket full go on through the stream's greenlet, in order."""
    user = "direct-slow"
    with SSEStream(live_server.url, f"/events?token={token_for(user)}",
                   receive_buffer=4096) as stream:
        assert stream.next_of("unread").json() == {"unread": 0}
        time.sleep(0.2)
        body, data = "b" * 2000, {"pad": "d" * 8000}  # ~10 KB a frame
        sent = [sender(user, f"n{i}", body=body, data=data) for i in range(150)]
        received = []
        while len(received) < len(sent):
            event = stream.next_of("notification", within=20)
            received.append((event.nid, event.json()["title"], event.json()["data"]))
        assert received == [(nid, f"n{i}", data) for i, nid in enumerate(sent)]
        assert stream.next_event().json() == {"unread": 150}

