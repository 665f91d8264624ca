// notifier's JS client: one user's live events over EventSource (or a WebSocket), and
// their inbox through the widget API, from a page on another site holding a widget token.
// No dependencies.
//
//   import { connect } from "https://notify.example.com/static/notifier.mjs";
//   const client = connect({ baseUrl: "https://notify.example.com", getToken });
//   client.on("notification", (n) => show(n));
//
// With `transport: "websocket"` the events come over /ws instead of /events: the same
// events, positions and reconnects; the seen receipts of received notifications go over
// the socket (`ack`) rather than the widget API, and the client pings the server.
//
// This ES module is the source. scripts/build_js.py makes static/notifier.js (a plain
// script exposing window.Notifier) and static/notifier-widget.js from it; a test keeps
// them in step.

const VERSION = "1";

// The stream's events (docs/protocols.md).
const STREAM_EVENTS = ["notification", "broadcast", "unread", "read", "deleted", "archived",
                       "restored", "snoozed", "reset", "expired", "revoked", "evicted"];

// A token is refreshed a fifth of its lifetime before it expires, at least 2 s and at
// most 60 s before.
const REFRESH_SHARE = 0.2;
const REFRESH_MIN_MS = 2000;
const REFRESH_MAX_MS = 60000;

const TRANSPORTS = ["sse", "websocket"];
// WebSocket close codes from /ws: the token expired; the server restarts (come back
// soon, spread out, as the SSE stream's retry hint does).
const CLOSE_TOKEN_EXPIRED = 4001;
const CLOSE_SERVICE_RESTART = 1012;
// Newer streams of the same user took this one's place: come back much later, as the
// SSE stream's `retry: 60000` says, so a background tab does not evict the newest.
const CLOSE_EVICTED = 4029;
const EVICTED_WAIT_MS = 60000;

class NotifierError extends Error {
  // status: the HTTP status (0: no answer); code and field: from the API's JSON error.
  constructor(status, code, message, field) {
    super(message);
    this.name = "NotifierError";
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

// Milliseconds to wait before attempt `attempt` (0, 1, ...): doubling from `initial` up
// to `max`, each wait drawn from its upper half, so clients that lost the same server
// come back spread out, never at once and never hammering.
function backoffDelay(attempt, initial, max) {
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

// What getToken() gave: a token string, or the token endpoint's JSON
// ({token, expires_in, expires_at}). expires_in counts from now on this machine's clock,
// so a skewed clock does not matter; expires_at is used when it is all there is.
function readToken(value, now) {
  if (typeof value === "string" && value) return { token: value, obtainedAt: now, expiresAt: null };
  if (!value || typeof value.token !== "string" || !value.token) {
    throw new NotifierError(0, "bad_token", "getToken() must give a token or {token, expires_in}");
  }
  let expiresAt = null;
  if (typeof value.expires_in === "number") expiresAt = now + value.expires_in * 1000;
  else if (typeof value.expires_at === "string") expiresAt = Date.parse(value.expires_at);
  return { token: value.token, obtainedAt: now,
           expiresAt: Number.isFinite(expiresAt) ? expiresAt : null };
}

// Milliseconds from `now` until a token should be replaced (null: it does not say when
// it expires; the stream's `expired` event will tell).
function refreshDelay(token, now, marginSeconds) {
  if (token.expiresAt === null) return null;
  const lifetime = token.expiresAt - token.obtainedAt;
  const margin = marginSeconds != null ? marginSeconds * 1000
    : Math.min(REFRESH_MAX_MS, Math.max(REFRESH_MIN_MS, lifetime * REFRESH_SHARE));
  return Math.max(0, token.expiresAt - margin - now);
}

class Connection {
  constructor(options) {
    if (!options || typeof options.getToken !== "function") {
      throw new TypeError("Notifier.connect needs {baseUrl, getToken}");
    }
    this.baseUrl = String(options.baseUrl || "").replace(/\/+$/, "");
    this.getToken = options.getToken;
    // The stream position this client has reached; pass a saved one to resume there.
    this.lastEventId = options.lastEventId || "";
    this.types = options.types || null;
    this.minPriority = options.minPriority || null;
    this.refreshMargin = options.refreshMargin ?? null;
    this.backoff = { initial: 1000, max: 30000, ...(options.backoff || {}) };
    this.transport = options.transport || "sse";
    if (!TRANSPORTS.includes(this.transport)) {
      throw new TypeError(`Notifier.connect: transport must be one of ${TRANSPORTS.join(", ")}`);
    }
    // WebSocket only: a ping this often; a socket that has not answered by the next
    // one is taken for dead and replaced.
    this.pingInterval = options.pingInterval ?? 25000;
    this.pingTimer = null;
    this.awaitingPong = false;
    // Seen receipts: each notification received is acknowledged (ack: false turns it off).
    this.ack = options.ack !== false;
    this.unacked = new Set();
    this.ackTimer = null;
    this.state = "connecting";
    this.listeners = new Map();
    this.source = null;
    this.token = null;
    this.pendingToken = null;
    this.attempt = 0;
    this.refreshTimer = null;
    this.retryTimer = null;
    this.closed = false;
    // Listeners are added after connect() returns: start on the next tick.
    setTimeout(() => this.openStream(false), 0);
  }

  // -- events -------------------------------------------------------------------------
  // on("notification" | "broadcast" | "unread" | "read" | "deleted" | "archived" |
  //    "restored" | "snoozed" | "reset" | "expired" | "revoked" | "evicted" | "state" |
  //    "error", fn): fn(data, {id}). Returns a function
  //    that removes fn.
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.off(name, fn);
  }

  off(name, fn) {
    this.listeners.get(name)?.delete(fn);
  }

  emit(name, data, meta = {}) {
    for (const fn of [...(this.listeners.get(name) || [])]) {
      try {
        fn(data, meta);
      } catch (error) {
        console.error(`notifier: a "${name}" listener failed`, error);
      }
    }
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", { state });
  }

  // -- tokens -------------------------------------------------------------------------
  // The current token, or a new one when `renew` or when it is about to expire. Calls
  // made at the same time share one getToken() call.
  async currentToken(renew) {
    const now = Date.now();
    if (!renew && this.token && (this.token.expiresAt === null || this.token.expiresAt > now + 1000)) {
      return this.token.token;
    }
    if (!this.pendingToken) {
      this.pendingToken = (async () => {
        try {
          const token = readToken(await this.getToken(), Date.now());
          if (!this.closed) {
            this.token = token;
            this.scheduleRefresh();
          }
          return token.token;
        } finally {
          this.pendingToken = null;
        }
      })();
    }
    return this.pendingToken;
  }

  scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    const delay = refreshDelay(this.token, Date.now(), this.refreshMargin);
    if (delay !== null) this.refreshTimer = setTimeout(() => this.openStream(true), delay);
  }

  // -- the stream ---------------------------------------------------------------------
  // (Re)open the stream where this client stands, with a new token when `renew`.
  async openStream(renew) {
    clearTimeout(this.retryTimer);
    if (this.closed) return;
    let token;
    try {
      token = await this.currentToken(renew);
    } catch (error) {
      this.emit("error", error instanceof NotifierError ? error
        : new NotifierError(0, "token_unavailable", `getToken() failed: ${error.message}`));
      if (this.source === null) this.setState("reconnecting");
      this.retry();  // the current stream, if any, lives on until its token expires
      return;
    }
    if (this.closed) return;
    // Close first: the old stream delivers nothing after this, so the new one, starting
    // from the last event id seen, repeats nothing and misses nothing.
    this.dropStream();
    const params = new URLSearchParams({ token });
    if (this.lastEventId) params.set("last_event_id", this.lastEventId);
    if (this.types) params.set("types", [].concat(this.types).join(","));
    if (this.minPriority) params.set("min_priority", this.minPriority);
    if (this.transport === "websocket") {
      this.openSocket(params);
      return;
    }
    const source = new EventSource(`${this.baseUrl}/events?${params}`);
    this.source = source;
    source.addEventListener("open", () => {
      if (source !== this.source) return;
      this.attempt = 0;
      this.setState("live");
    });
    source.addEventListener("error", () => {
      if (source !== this.source) return;
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (a refused token or origin, an error status): we retry,
        // with a fresh token in case that was the reason.
        this.source = null;
        this.setState("reconnecting");
        this.retry();
      } else {
        this.setState("reconnecting");  // the browser reconnects by itself, with Last-Event-ID
      }
    });
    for (const name of STREAM_EVENTS) {
      source.addEventListener(name, (event) => this.receive(source, name, event));
    }
  }

  // The stream in use, closed without a word to anyone (its late events are ignored).
  dropStream() {
    clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.source?.close();
    this.source = null;
  }

  // -- the WebSocket transport (/ws) ---------------------------------------------------
  openSocket(params) {
    const url = new URL(`${this.baseUrl}/ws`, globalThis.location?.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.search = params.toString();
    const socket = new WebSocket(url);
    this.source = socket;
    socket.addEventListener("open", () => {
      if (socket !== this.source) return;
      this.attempt = 0;
      this.setState("live");
      this.awaitingPong = false;
      this.pingTimer = setInterval(() => this.ping(socket), this.pingInterval);
    });
    socket.addEventListener("message", (event) => this.receiveMessage(socket, event));
    socket.addEventListener("close", (event) => {
      if (socket !== this.source) return;
      this.dropStream();
      this.setState("reconnecting");
      if (event.code === CLOSE_TOKEN_EXPIRED) {
        this.openStream(true);
      } else if (event.code === CLOSE_EVICTED) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.openStream(false), EVICTED_WAIT_MS);
      } else if (event.code === CLOSE_SERVICE_RESTART) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.openStream(false), 500 + Math.random() * 4500);
      } else {
        // Refused (the handshake's 401 or 403 reads as 1006), lost, or told to come back
        // later: retry with backoff and a fresh token, as for a refused EventSource.
        this.retry();
      }
    });
  }

  ping(socket) {
    if (socket !== this.source) return;
    if (this.awaitingPong) {
      // Nothing came back since the last ping: the connection is gone without a close.
      this.dropStream();
      this.setState("reconnecting");
      this.retry();
      return;
    }
    this.awaitingPong = true;
    this.sendOver(socket, { type: "ping" });
  }

  sendOver(socket, message) {
    if (socket === this.source && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
    }
  }

  receiveMessage(socket, event) {
    if (socket !== this.source) return;
    this.awaitingPong = false;  // anything at all shows the connection works
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === "error") {
      const error = message.error || {};
      this.emit("error", new NotifierError(0, error.code || "ws_error", error.message || "",
                                           error.field));
      return;
    }
    if (!STREAM_EVENTS.includes(message.event)) return;  // replies: pong, ack, read
    this.deliver(socket, message.event, message.data, message.id || "");
  }

  retry() {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    const delay = backoffDelay(this.attempt++, this.backoff.initial, this.backoff.max);
    this.retryTimer = setTimeout(() => this.openStream(true), delay);
  }

  receive(source, name, event) {
    if (source !== this.source) return;
    if (event.lastEventId) this.lastEventId = event.lastEventId;
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    this.deliver(source, name, data, event.lastEventId);
  }

  // An event of either transport; `id` is the stream position it leaves the client at.
  deliver(source, name, data, id) {
    if (id) this.lastEventId = id;
    const meta = { id: id || null };
    if (name === "expired") {
      // The server ends the stream: reconnect at once with a new token, from here.
      this.dropStream();
      this.setState("reconnecting");
      this.emit("expired", data, meta);
      this.openStream(true);
      return;
    }
    if (name === "notification" && data && data.id) this.acknowledge(data.id);
    this.emit(name, data, meta);
  }

  // Received notifications are reported seen in batches, about once a second: over the
  // open WebSocket as an `ack` message, else through the widget API.
  acknowledge(id) {
    if (!this.ack) return;
    this.unacked.add(id);
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      const ids = [...this.unacked].slice(0, 100);
      for (const seen of ids) this.unacked.delete(seen);
      if (this.unacked.size) this.acknowledge([...this.unacked][0]);
      const socket = this.source;
      if (this.transport === "websocket" && socket?.readyState === WebSocket.OPEN) {
        this.sendOver(socket, { type: "ack", ids });
        return;
      }
      this.markSeen(ids).catch((error) => this.emit("error", error));
    }, 1000);
  }

  close() {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.retryTimer);
    this.dropStream();
    this.setState("closed");
  }

  // -- the widget API -----------------------------------------------------------------
  // One call; on a 401 (or no readable answer, as when an expired token's origin cannot
  // be told) it is tried once more with a new token.
  async request(method, path, body) {
    for (let attempt = 0; ; attempt++) {
      const token = await this.currentToken(attempt > 0);
      const headers = { Authorization: `Bearer ${token}` };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      let response;
      try {
        response = await fetch(`${this.baseUrl}/api/v1/me${path}`, {
          method, headers, body: body === undefined ? undefined : JSON.stringify(body),
          mode: "cors", credentials: "omit", cache: "no-store",
        });
      } catch (error) {
        if (attempt === 0) continue;
        throw new NotifierError(0, "network", `notifier is unreachable: ${error.message}`);
      }
      if (response.status === 401 && attempt === 0) continue;
      const data = await response.json().catch(() => null);
      if (!response.ok) {
        const error = (data && data.error) || {};
        throw new NotifierError(response.status, error.code || "http_error",
                                error.message || `HTTP ${response.status}`, error.field);
      }
      return data;
    }
  }

  // A page of notifications and broadcasts, newest first: {notifications, next}. Pass
  // `next` as `before` for the page after; `archived` / `snoozed`: those instead.
  list({ limit, before, unread, archived, snoozed } = {}) {
    const params = new URLSearchParams();
    if (limit) params.set("limit", String(limit));
    if (before) params.set("before", before);
    if (unread) params.set("unread", "1");
    if (archived) params.set("archived", "1");
    if (snoozed) params.set("snoozed", "1");
    const query = params.toString();
    return this.request("GET", `/notifications${query ? `?${query}` : ""}`);
  }

  async unreadCount() {
    return (await this.request("GET", "/unread-count")).unread;
  }

  // Resolves to {marked, unread}.
  markRead(ids) {
    return this.request("POST", "/notifications/read", { ids: [].concat(ids) });
  }

  // Every unread notification of a thread (the `thread` senders named); {marked, unread}.
  markThreadRead(thread) {
    return this.request("POST", `/threads/${encodeURIComponent(thread)}/read`);
  }

  // Everything, or with upTo (a stream position or a notification id) what is not newer.
  markAllRead({ upTo } = {}) {
    return this.request("POST", "/notifications/read", upTo ? { all: true, up_to: upTo }
      : { all: true });
  }

  // Record that notifications were shown (seen receipts): {seen: ids seen the first time}.
  markSeen(ids) {
    return this.request("POST", "/notifications/seen", { ids: [].concat(ids) });
  }

  // Record a click on the notification ("link") or its action 0-2; it becomes read.
  // Resolves to {url}: where the click leads (null for a notification without a link).
  click(id, target = "link") {
    return this.request("POST", `/notifications/${encodeURIComponent(id)}/clicks`, { target });
  }

  // Archive notifications (out of the inbox list, read): {archived, unread}.
  archive(ids) {
    return this.request("POST", "/notifications/archive", { ids: [].concat(ids) });
  }

  // Restore archived notifications to the inbox list: {restored, unread}.
  unarchive(ids) {
    return this.request("POST", "/notifications/unarchive", { ids: [].concat(ids) });
  }

  // Snooze notifications until `until` (a Date or an ISO date-time): {snoozed, until, unread}.
  snooze(ids, until) {
    const when = until instanceof Date ? until.toISOString() : String(until);
    return this.request("POST", "/notifications/snooze", { ids: [].concat(ids), until: when });
  }

  // Bring snoozed notifications back now, unread: {unsnoozed, unread}.
  unsnooze(ids) {
    return this.request("POST", "/notifications/unsnooze", { ids: [].concat(ids) });
  }

  // Delete a notification (dismiss a broadcast): {deleted, unread}.
  remove(id) {
    return this.request("DELETE", `/notifications/${encodeURIComponent(id)}`);
  }
}

function connect(options) {
  return new Connection(options);
}

const Notifier = Object.freeze({ connect, NotifierError, version: VERSION });

// -- exports -- (scripts/build_js.py cuts here for the plain-script builds)
export { connect, NotifierError, backoffDelay, refreshDelay, readToken };
export default Notifier;
