// The user's live stream on every signed-in page: the header's unread badge, the tab
// title's count, the status dot and toasts; pages add their own handlers with
// NotifierLive.on(event, handler(data, id)) (static/live.js does on the inbox).
//
// One stream per browser, whatever the number of tabs: the tab that holds a Web Lock
// opens GET /events and passes every event to the other tabs over a BroadcastChannel.
// When it closes or navigates away the lock passes to a waiting tab, which resumes
// from the furthest position any event brought it (Last-Event-ID), so nothing is
// missed in the hand-over. A tab that opens asks for what arrived since its page was
// rendered (every tab keeps the latest events). Chrome does not freeze a tab that
// holds a lock. Without Web Locks (a page served over plain http:// from another
// host) every tab holds a stream of its own, as it would without this sharing.
(() => {
  "use strict";

  const status = document.querySelector("[data-live-status]");
  if (!status) return;  // signed out
  const user = status.dataset.liveUser;
  const badge = document.querySelector("[data-unread-badge]");
  const toasts = document.querySelector("[data-toasts]");
  const EVENTS = ["notification", "broadcast", "unread", "read", "deleted", "archived",
                  "restored", "snoozed", "reset", "revoked"];
  const KEEP = 200;  // latest events each tab keeps, to catch opening tabs up
  const tab = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const baseTitle = document.title.replace(/^\(\d+\+?\) /, "");
  // The page's render position, when it has one (the inbox): what it shows is up to it.
  const rendered = document.querySelector("[data-last-event-id]")?.dataset.lastEventId || null;

  const handlers = new Map();
  const recent = [];
  const toasted = new Set();
  let position = rendered;  // the furthest position this tab has seen
  let unread = null;
  let state = "off";
  let holding = false;
  let welcomed = false;
  let leaving = false;
  window.addEventListener("beforeunload", () => { leaving = true; });
  window.addEventListener("pageshow", () => { leaving = false; });

  // -- positions: "<ms>-<seq>_<ms>-<seq>" (inbox, broadcasts); a lone id is both -------
  function parse(value) {
    if (!value) return null;
    const [own, bcast = own] = value.split("_");
    const part = (id) => {
      const match = /^(\d+)-(\d+)$/.exec(id || "");
      return match ? [BigInt(match[1]), BigInt(match[2])] : null;
    };
    const parts = [part(own), part(bcast)];
    return parts[0] && parts[1] ? parts : null;
  }
  const compare = (a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1)
    : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
  const format = (p) => `${p[0]}-${p[1]}`;
  // Whether position a holds something b does not.
  function beyond(a, b) {
    const pa = parse(a);
    const pb = parse(b);
    if (!pa) return false;
    if (!pb) return true;
    return compare(pa[0], pb[0]) > 0 || compare(pa[1], pb[1]) > 0;
  }
  function furthest(a, b) {
    const pa = parse(a);
    const pb = parse(b);
    if (!pa) return b;
    if (!pb) return a;
    const pick = (i) => format(compare(pa[i], pb[i]) >= 0 ? pa[i] : pb[i]);
    return `${pick(0)}_${pick(1)}`;
  }

  // -- what every page shows ------------------------------------------------------
  function setUnread(count) {
    unread = count;
    if (badge) {
      badge.textContent = count > 99 ? "99+" : String(count);
      badge.setAttribute("aria-label", `${count} unread`);
      badge.classList.toggle("badge-empty", count === 0);
    }
    document.title = (count ? `(${count}) ` : "") + baseTitle;
  }

  function setStatus(next) {
    state = next;
    status.dataset.state = next;
    status.title = next === "live" ? "Live: new notifications appear as they arrive"
      : "Reconnecting…";
  }

  const loud = (n) => n.priority === "high" || n.priority === "urgent";

  function toast(n) {
    if (!toasts || toasted.has(n.id)) return;
    toasted.add(n.id);
    const el = (tag, attrs, ...children) => {
      const node = document.createElement(tag);
      for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
      node.append(...children);  // text nodes: sender text is never parsed as HTML
      return node;
    };
    const close = el("button", { class: "toast-close", type: "button", "aria-label": "Dismiss" },
                     "×");
    const item = el("div", { class: `toast toast-${n.priority}`, role: "status" },
                    el("strong", {}, n.title), close);
    if (n.body) item.insertBefore(el("p", {}, n.body), close);
    close.addEventListener("click", () => item.remove());
    toasts.append(item);
    setTimeout(() => item.remove(), 8000);
  }

  // One event, however it reached this tab.
  function deliver(message) {
    const { type, data, id } = message;
    if (id) position = furthest(position, id);
    recent.push(message);
    if (recent.length > KEEP) recent.shift();
    if (type === "unread") setUnread(data.unread);
    // The user's preferences, decided when it was sent: in-app off for its type
    // ("live": false) only counts it; quiet hours ("quiet": true) keep it from popping up.
    if (type === "notification" && data.live !== false && !data.quiet && loud(data)) toast(data);
    // A broadcast comes again when it changes (a window ended early): toasted once.
    if (type === "broadcast" && !data.read && loud(data)
        && !document.getElementById(`n-${data.id}`)) toast(data);
    for (const handler of handlers.get(type) || []) handler(data, id);
    // Signed out (here or everywhere) or disabled: the reload lands on the sign-in page,
    // unless this tab is already leaving (e.g. it posted "Sign out everywhere").
    if (type === "revoked" && !leaving) window.location.reload();
  }

  // -- holding the stream, or hearing it from the tab that does ---------------------
  const channel = "BroadcastChannel" in window && navigator.locks
    ? new BroadcastChannel(`notifier-live:${user}`) : null;

  function share(message) {
    if (message.kind === "status") setStatus(message.state);
    else deliver(message);
    channel?.postMessage(message);
  }

  function hold() {
    holding = true;
    welcomed = true;  // its stream replays from this tab's own position
    const query = position ? `?${new URLSearchParams({ last_event_id: position })}` : "";
    const source = new EventSource(`/events${query}`);
    source.addEventListener("open", () => share({ kind: "status", state: "live" }));
    source.addEventListener("error", () => share({ kind: "status", state: "reconnecting" }));
    for (const type of EVENTS) {
      source.addEventListener(type, (event) => share({
        kind: "event", type, data: JSON.parse(event.data), id: event.lastEventId,
      }));
    }
  }

  function hear(message) {
    if (message.kind === "event") deliver(message);
    else if (message.kind === "status") {
      setStatus(message.state);
      // A tab that opened while the stream changed hands asks the new holder.
      if (!welcomed) channel.postMessage({ kind: "hello", tab, position: rendered });
    }
    else if (message.kind === "hello" && holding) welcome(message);
    else if (message.kind === "welcome" && message.tab === tab) catchUp(message);
  }

  // Tell an opening tab what came after its page's render, and how things stand.
  function welcome(hello) {
    const missed = hello.position ? recent.filter((m) => beyond(m.id, hello.position)) : [];
    // Events older than the oldest kept one may be missing: the page reloads its list.
    const gap = hello.position && recent.length === KEEP && missed.length === KEEP;
    channel.postMessage({ kind: "welcome", tab: hello.tab, state, unread, position, missed,
                          gap });
  }

  function catchUp(message) {
    if (welcomed) return;
    welcomed = true;
    setStatus(message.state);
    if (message.gap) {
      deliver({ kind: "event", type: "reset", data: { reason: "missed" }, id: null });
    } else {
      // What reached this tab directly since it opened is not delivered twice.
      const fresh = message.missed.filter((m) => beyond(m.id, position));
      for (const missed of fresh) deliver(missed);
    }
    if (!rendered && message.unread !== null) setUnread(message.unread);
    position = furthest(position, message.position);
  }

  window.NotifierLive = {
    on(type, handler) {
      if (!handlers.has(type)) handlers.set(type, []);
      handlers.get(type).push(handler);
    },
  };

  if (!channel) {
    hold();
    return;
  }
  channel.addEventListener("message", (event) => hear(event.data));
  channel.postMessage({ kind: "hello", tab, position: rendered });
  // Held until this page goes away: then the browser hands the lock to a waiting tab.
  navigator.locks.request(`notifier-live:${user}`, () => new Promise(() => hold()));
})();
