"""The example host site (examples/host_site.py), served in a thread for the widget's tests,
plus test pages that drive the JS client directly."""

from __future__ import annotations

import importlib.util
import threading

from werkzeug.serving import make_server

from conftest import ROOT, free_port

CLIENT_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>client</title>
<script src="{notifier}/static/notifier.js"></script></head><body>
<script>
window.seen = [];
window.tokens = 0;
window.states = [];
window.started = performance.now();
const client = Notifier.connect({{
  baseUrl: "{notifier}",
  refreshMargin: {margin},
  transport: "{transport}",
  getToken: async () => {{
    window.tokens += 1;
    // ?bad_first=1: the first token is garbage, as a token the server refuses would be.
    if (window.tokens === 1 && location.search.includes("bad_first=1")) return "garbage";
    const response = await fetch("/notifier-token", {{ cache: "no-store" }});
    if (!response.ok) throw new Error("no token: " + response.status);
    return response.json();
  }},
}});
const names = ["notification", "broadcast", "unread", "read", "deleted", "reset", "expired"];
for (const name of names) {{
  client.on(name, (data, meta) => window.seen.push({{ name, id: meta.id, data }}));
}}
client.on("state", ({{ state }}) => {{
  window.states.push([state, performance.now() - window.started]);
}});
window.client = client;
</script></body></html>"""

MODULE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>module</title>
</head><body><script type="module">
import Notifier, {{ connect, backoffDelay, refreshDelay, readToken }}
  from "{notifier}/static/notifier.mjs";
window.api = {{ Notifier, backoffDelay, refreshDelay, readToken, plain: typeof window.Notifier }};
window.seen = [];
const client = connect({{ baseUrl: "{notifier}", getToken: () =>
  fetch("/notifier-token").then((r) => r.json()) }});
client.on("unread", (data) => window.seen.push(data.unread));
window.client = client;
</script></body></html>"""

# A page that holds a valid token minted for another origin, and tries to use it.
STOLEN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>stolen</title>
</head><body><script>
window.outcome = {{ events: [], stream: "pending", fetch: "pending" }};
const token = "{token}";
const source = new EventSource("{notifier}/events?token=" + encodeURIComponent(token));
for (const name of ["notification", "unread"]) {{
  source.addEventListener(name, (e) => window.outcome.events.push([name, e.data]));
}}
source.onopen = () => {{ window.outcome.stream = "open"; }};
source.onerror = () => {{
  window.outcome.stream = source.readyState === EventSource.CLOSED ? "closed" : "retrying";
}};
fetch("{notifier}/api/v1/me/notifications", {{ headers: {{ Authorization: "Bearer " + token }} }})
  .then((r) => r.text().then((body) => {{ window.outcome.fetch = "read: " + body; }}))
  .catch((e) => {{ window.outcome.fetch = "refused: " + e.name; }});
</script></body></html>"""


class HostSite:
    """examples/host_site.py on 127.0.0.1:<port>, minting tokens with ``api_key``."""

    def __init__(self, notifier_url: str, api_key: str, *, ttl: int = 900):
        spec = importlib.util.spec_from_file_location(
            "host_site_example", ROOT / "examples" / "host_site.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.NOTIFIER_URL, module.API_KEY, module.TOKEN_TTL = notifier_url, api_key, ttl
        #: The example's module: its settings (TOKEN_TTL, ...) can be changed while it runs.
        self.example = module
        #: The client page's refreshMargin (JS; "null": the client's default).
        self.refresh_margin = "null"
        #: The client page's transport: "sse" (the client's default) or "websocket".
        self.transport = "sse"
        #: The token the /stolen page tries to use.
        self.stolen_token = ""
        app = module.app
        app.add_url_rule("/client", "client", lambda: CLIENT_PAGE.format(
            notifier=notifier_url, margin=self.refresh_margin, transport=self.transport))
        app.add_url_rule("/module", "module", lambda: MODULE_PAGE.format(
            notifier=notifier_url))
        app.add_url_rule("/stolen", "stolen", lambda: STOLEN_PAGE.format(
            notifier=notifier_url, token=self.stolen_token))
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.origin = self.url
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
