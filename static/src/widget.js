// The drop-in widget: a bell with the unread count and a dropdown list, kept live by the
// JS client (connect(), from static/notifier.mjs, which scripts/build_js.py puts before
// this file in static/notifier-widget.js).
//
//   <script src="https://notify.example.com/static/notifier-widget.js"
//           data-token-url="/my-backend/notifier-token" async></script>
//
// data-token-url  (required) the host site's endpoint answering the signed-in user's
//                 widget token as JSON ({token, expires_in, ...}); fetched with its cookies
// data-target     a CSS selector of the element to put the bell in (default: where the
//                 script tag is, or the top right corner when the tag is in <head>)
// data-theme      light, dark or auto (default: auto, following prefers-color-scheme)
// data-page-size  notifications per page of the list (default 10)
// data-transport  sse (default: EventSource on /events) or websocket (/ws)
//
// Everything renders in a Shadow DOM, so the host's CSS cannot break it and it cannot
// break the host. Sender text only ever goes in through textContent. Colours, radius,
// font and width follow CSS custom properties (--notifier-*) set on the page.

const script = document.currentScript;

const ICONS = {
  bell: "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-1.7 1.7A1 1 0 0 0 4 19.4h16a1 1 0 0 0 .7-1.7L19 16Z",
  read: "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z",
  dismiss: "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7l-1.4-1.4L9.2 12 2.9 5.7l1.4-1.4 6.3 6.3 6.3-6.3z",
  archive: "M20.54 5.23 19.15 3.55A1.5 1.5 0 0 0 18 3H6c-.47 0-.88.21-1.16.55L3.46 5.23A2 2 0 0 0 3 6.5V19a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V6.5c0-.48-.17-.93-.46-1.27ZM12 17.5 6.5 12H10v-2h4v2h3.5L12 17.5ZM5.12 5l.81-1h12l.94 1H5.12Z",
  restore: "M20.55 5.22 19.16 3.54A1.5 1.5 0 0 0 18 3H6c-.47 0-.88.21-1.15.55L3.46 5.22A2.1 2.1 0 0 0 3 6.5V19a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V6.5c0-.49-.17-.93-.45-1.28ZM12 9.5l5.5 5.5H14v2h-4v-2H6.5L12 9.5ZM5.12 5l.82-1h12l.93 1H5.12Z",
  snooze: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16Zm.5-13H11v6l5.2 3.2.8-1.3-4.5-2.7V7Z",
  open: "M14 3v2h3.6l-9.3 9.3 1.4 1.4L19 6.4V10h2V3h-7ZM19 19H5V5h7V3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2v-7h-2v7Z",
};

// Light colours, then dark; each can be set by the page as --notifier-<name>.
const LIGHT = {
  bg: "#ffffff", fg: "#16181d", muted: "#5d6472", border: "#e3e6eb", hover: "#f1f3f6",
  accent: "#4f46e5", "accent-text": "#ffffff", "unread-bg": "#f5f6ff",
  high: "#b45309", "high-bg": "#fff4e5", urgent: "#c81e1e", "urgent-bg": "#fdecec",
  "badge-bg": "#d92d20", "badge-fg": "#ffffff",
  shadow: "0 12px 32px rgb(16 24 40 / 0.16), 0 2px 6px rgb(16 24 40 / 0.08)",
};
const DARK = {
  bg: "#171a21", fg: "#e8eaef", muted: "#9aa2b1", border: "#2a2f3a", hover: "#1f232c",
  accent: "#8b85ff", "accent-text": "#0f1115", "unread-bg": "#1c1e2e",
  high: "#f0a24b", "high-bg": "#3a2a14", urgent: "#ff7b7b", "urgent-bg": "#3d1a1a",
  "badge-bg": "#ff6b5e", "badge-fg": "#0f1115",
  shadow: "0 12px 32px rgb(0 0 0 / 0.5), 0 0 0 1px rgb(255 255 255 / 0.04)",
};

function palette(colours) {
  return Object.entries(colours)
    .map(([name, value]) => `--_${name}: var(--notifier-${name}, ${value});`).join(" ");
}

const CSS = `
:host { all: initial; display: inline-block; position: relative; color: inherit;
  font: 14px/1.45 var(--notifier-font, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif);
  ${palette(LIGHT)} color-scheme: light; }
@media (prefers-color-scheme: dark) { :host(:not([data-theme="light"])) { ${palette(DARK)} color-scheme: dark; } }
:host([data-theme="dark"]) { ${palette(DARK)} color-scheme: dark; }
:host(.floating) { position: fixed; top: 12px; right: 12px; z-index: var(--notifier-z-index, 2147483000); }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
button { font: inherit; color: inherit; cursor: pointer; }
button:focus-visible, a:focus-visible, .panel:focus-visible { outline: 2px solid var(--_accent); outline-offset: 2px; }
svg { width: 20px; height: 20px; fill: currentColor; flex: none; }

.bell { position: relative; display: inline-flex; align-items: center; justify-content: center;
  width: 40px; height: 40px; padding: 0; border: 0; border-radius: 999px; background: transparent;
  color: var(--notifier-bell-color, currentColor); }
.bell:hover { background: color-mix(in srgb, currentColor 10%, transparent); }
.bell svg { width: 22px; height: 22px; }
.bell[aria-expanded="true"] { background: color-mix(in srgb, currentColor 14%, transparent); }
.badge { position: absolute; top: 3px; right: 1px; min-width: 18px; height: 18px; padding: 0 5px;
  border-radius: 999px; background: var(--_badge-bg); color: var(--_badge-fg);
  font-size: 11px; font-weight: 700; line-height: 18px; text-align: center;
  box-shadow: 0 0 0 2px var(--notifier-badge-ring, transparent); }
.bell.is-off { opacity: .55; }

.panel { position: fixed; z-index: var(--notifier-z-index, 2147483000); display: flex; flex-direction: column;
  width: min(var(--notifier-width, 380px), calc(100vw - 16px)); max-height: 70vh;
  background: var(--_bg); color: var(--_fg); border: 1px solid var(--_border);
  border-radius: var(--notifier-radius, 12px); box-shadow: var(--_shadow); overflow: hidden; text-align: left; }
.head { display: flex; align-items: center; gap: 8px; padding: 12px 12px 10px 16px; border-bottom: 1px solid var(--_border); }
.head h2 { margin: 0; font-size: 15px; font-weight: 650; flex: 1; }
.count { color: var(--_muted); font-weight: 500; font-size: 13px; margin-left: 4px; }
.status { color: var(--_muted); font-size: 12px; }
.text-button { border: 0; background: transparent; color: var(--_accent); font-weight: 600; font-size: 13px;
  padding: 6px 8px; border-radius: 8px; }
.text-button:hover { background: var(--_hover); }
.text-button:disabled { color: var(--_muted); cursor: default; background: transparent; }
.list { list-style: none; margin: 0; padding: 0; overflow-y: auto; overscroll-behavior: contain; }
.item { position: relative; display: flex; gap: 10px; padding: 12px 8px 12px 16px; border-bottom: 1px solid var(--_border); }
.item:last-child { border-bottom: 0; }
.item.is-unread { background: var(--_unread-bg); }
.item::before { content: ""; position: absolute; left: 0; top: 0; bottom: 0; width: 3px; }
.item.priority-high::before { background: var(--_high); }
.item.priority-urgent::before { background: var(--_urgent); }
.item.is-new { animation: arrive .6s ease-out; }
@keyframes arrive { from { background: color-mix(in srgb, var(--_accent) 22%, transparent); } }
@media (prefers-reduced-motion: reduce) { .item.is-new { animation: none; } }
.dot { flex: none; width: 8px; height: 8px; margin-top: 7px; border-radius: 999px; background: transparent; }
.is-unread > .dot { background: var(--_accent); }
.content { flex: 1; min-width: 0; }
.title { margin: 0; font-size: 14px; font-weight: 500; overflow-wrap: anywhere; }
.is-unread > .content .title { font-weight: 650; }
.priority-low > .content .title { color: var(--_muted); }
.title a { color: inherit; text-decoration: none; }
.title a:hover { text-decoration: underline; }
.title a svg { width: 13px; height: 13px; margin-left: 4px; vertical-align: -1px; fill: var(--_muted); }
.body { margin: 2px 0 0; color: var(--_muted); overflow-wrap: anywhere;
  display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; }
.meta { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin: 6px 0 0; color: var(--_muted); font-size: 12px; }
.tag { border-radius: 6px; padding: 0 6px; font-weight: 600; background: var(--_hover); color: var(--_muted); }
.tag-high { background: var(--_high-bg); color: var(--_high); }
.tag-urgent { background: var(--_urgent-bg); color: var(--_urgent); }
.tag-broadcast { background: color-mix(in srgb, var(--_accent) 14%, transparent); color: var(--_accent); }
.buttons { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0 0; }
.action { display: inline-block; padding: 4px 10px; border: 1px solid var(--_border); border-radius: 8px;
  color: var(--_fg); background: transparent; font-size: 13px; font-weight: 600; text-decoration: none; }
.action:hover { background: var(--_hover); }
.action-primary { background: var(--_accent); border-color: var(--_accent); color: var(--_accent-text); }
.action-primary:hover { background: var(--_accent); filter: brightness(1.08); }
.actions { display: flex; align-items: flex-start; gap: 2px; }
.icon-button { display: inline-flex; align-items: center; justify-content: center; width: 30px; height: 30px;
  padding: 0; border: 0; border-radius: 8px; background: transparent; color: var(--_muted); }
.icon-button:hover { background: var(--_hover); color: var(--_fg); }
[aria-disabled="true"] { opacity: .5; cursor: progress; }
.icon-button svg { width: 17px; height: 17px; }
@media (pointer: coarse) { .icon-button { width: 40px; height: 40px; } .bell { width: 44px; height: 44px; } }
.note { margin: 0; padding: 28px 16px; text-align: center; color: var(--_muted); }
.note strong { display: block; color: var(--_fg); font-size: 15px; margin-bottom: 2px; }
.foot { padding: 6px; border-top: 1px solid var(--_border); text-align: center; }
.foot .text-button { width: 100%; }
.views { display: flex; gap: 4px; padding: 6px 12px; border-bottom: 1px solid var(--_border); }
.views button { border: 0; background: transparent; color: var(--_muted); font-size: 13px; font-weight: 600;
  padding: 4px 10px; border-radius: 999px; }
.views button:hover { background: var(--_hover); color: var(--_fg); }
.views button[aria-pressed="true"] { background: var(--_hover); color: var(--_fg); }
.snooze-menu { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0 0; }
.snooze-menu button { border: 1px solid var(--_border); background: transparent; color: var(--_fg);
  font-size: 12px; font-weight: 600; padding: 3px 9px; border-radius: 999px; }
.snooze-menu button:hover { background: var(--_hover); }
.icon-button[aria-expanded="true"] { background: var(--_hover); color: var(--_fg); }
.tag-thread { background: color-mix(in srgb, var(--_accent) 14%, transparent); color: var(--_accent); }
.thread-toggle { margin: 8px 0 0; border: 1px solid var(--_border); background: transparent; color: var(--_muted);
  font-size: 12px; font-weight: 600; padding: 2px 9px; border-radius: 999px; }
.thread-toggle:hover { background: var(--_hover); color: var(--_fg); }
.thread-toggle::before { content: "▸ "; }
.thread-toggle[aria-expanded="true"]::before { content: "▾ "; }
.item.thread-head { flex-wrap: wrap; }
.thread-items { flex-basis: 100%; list-style: none; margin: 8px 0 -12px; padding: 0 0 0 8px; border-left: 2px solid var(--_border); }
.thread-items .item { padding-left: 8px; background: var(--_bg); }
.thread-items .item.is-unread { background: var(--_unread-bg); }
`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

// Feed order, newest first: by the id's time; a broadcast after a notification of the
// same id (the server's order).
function orderKey(id) {
  const match = /^(b?)(\d+)-(\d+)$/.exec(id) || ["", "", "0", "0"];
  return [Number(match[2]), Number(match[3]), match[1] ? 1 : 0];
}

function newer(a, b) {
  const [x, y] = [orderKey(a), orderKey(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i];
  return false;
}

const RELATIVE = typeof Intl !== "undefined" && Intl.RelativeTimeFormat
  ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" }) : null;

function ago(iso) {
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 45 || !RELATIVE) return "just now";
  const steps = [[3600, 60, "minute"], [86400, 3600, "hour"], [604800, 86400, "day"]];
  for (const [limit, unit, name] of steps) {
    if (seconds < limit) return RELATIVE.format(-Math.round(seconds / unit), name);
  }
  return new Date(iso).toLocaleDateString(undefined, { day: "numeric", month: "short" });
}

// The snooze menu's choices: when each brings a notification back, in local time.
const SNOOZE_CHOICES = [
  ["In 1 hour", (now) => new Date(now.getTime() + 3600_000)],
  ["Tomorrow 9:00", (now) => new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9)],
  ["Next week", (now) => new Date(now.getFullYear(), now.getMonth(),
                                  now.getDate() + 7 - ((now.getDay() + 6) % 7), 9)],
];

function isExpired(n) {
  return Boolean(n.expires_at) && Date.parse(n.expires_at) <= Date.now();
}

class BellWidget {
  constructor(host, { baseUrl, tokenUrl, pageSize, transport }) {
    this.host = host;
    this.pageSize = pageSize;
    this.items = new Map();  // id -> {data, node}
    this.loaded = false;
    this.loading = null;
    this.pending = [];  // live items that arrived while the first page was loading
    this.seen = new Set();  // ids reported seen from this page
    this.next = null;
    this.unread = null;
    this.view = "inbox";  // or "snoozed" or "archived"
    this.openThreads = new Set();  // threads whose rows show their older items
    this.render();
    this.client = connect({ baseUrl, transport, getToken: () => this.fetchToken(tokenUrl) });
    this.listen();
  }

  async fetchToken(tokenUrl) {
    const response = await fetch(tokenUrl, {
      credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new NotifierError(response.status, "token_url", `${tokenUrl} answered ${response.status}`);
    return response.json();
  }

  // -- building -----------------------------------------------------------------------
  render() {
    const shadow = this.host.attachShadow({ mode: "open" });
    this.shadow = shadow;
    if ("adoptedStyleSheets" in shadow && typeof CSSStyleSheet === "function") {
      // A constructed sheet is not inline style: a host page's CSP need not allow it.
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } else {
      shadow.append(el("style", {}, CSS));
    }
    this.badge = el("span", { class: "badge", "aria-hidden": "true", hidden: "" });
    this.bell = el("button", { class: "bell", type: "button", "aria-haspopup": "dialog",
                               "aria-expanded": "false", "aria-controls": "panel" },
                   icon("bell"), this.badge);
    this.count = el("span", { class: "count" });
    this.status = el("span", { class: "status" });
    this.markAll = el("button", { class: "text-button", type: "button", hidden: "" },
                      "Mark all read");
    this.viewButtons = {
      inbox: el("button", { type: "button", "aria-pressed": "true" }, "Inbox"),
      snoozed: el("button", { type: "button", "aria-pressed": "false" }, "Snoozed"),
      archived: el("button", { type: "button", "aria-pressed": "false" }, "Archived"),
    };
    const views = el("div", { class: "views", role: "group", "aria-label": "Show" },
                     ...Object.values(this.viewButtons));
    this.list = el("ol", { class: "list", "aria-labelledby": "title" });
    this.note = el("p", { class: "note", hidden: "" });
    this.more = el("button", { class: "text-button", type: "button" }, "Load more");
    this.foot = el("div", { class: "foot", hidden: "" }, this.more);
    this.panel = el("div", { class: "panel", id: "panel", role: "dialog", "aria-modal": "false",
                             "aria-labelledby": "title", tabindex: "-1", hidden: "" },
                    el("div", { class: "head" },
                       el("h2", { id: "title" }, "Notifications", this.count),
                       this.status, this.markAll),
                    views, this.list, this.note, this.foot);
    this.live = el("div", { class: "visually-hidden", "aria-live": "polite", role: "status" });
    shadow.append(this.bell, this.panel, this.live);
    this.setUnread(null);
    this.setState("connecting");
  }

  item(n) {
    const title = el("h3", { class: "title" });
    if (n.link && /^https?:\/\//i.test(n.link)) {
      const link = el("a", { href: n.link, target: "_blank", rel: "noopener noreferrer nofollow" });
      link.append(n.title, icon("open"));
      link.addEventListener("click", () => this.clicked(n, "link"));
      title.append(link);
    } else {
      title.textContent = n.title;
    }
    const meta = el("p", { class: "meta" });
    if (n.priority === "high" || n.priority === "urgent") {
      meta.append(el("span", { class: `tag tag-${n.priority}` }, n.priority === "urgent" ? "Urgent" : "High"));
    }
    const name = this.chip(n);
    if (n.source === "broadcast") meta.append(el("span", { class: "tag tag-broadcast" }, name));
    else if (name) meta.append(el("span", { class: "tag", "data-type-chip": "" }, name));
    meta.append(el("time", { datetime: n.created_at, title: new Date(n.created_at).toLocaleString() },
                   ago(n.created_at)));
    if (!n.read) meta.append(el("span", { class: "visually-hidden" }, "Unread."));
    const content = el("div", { class: "content" }, title);
    if (n.body) content.append(el("p", { class: "body" }, n.body));
    if (n.actions && n.actions.length) {
      // Links styled as buttons: they open at once (no popup blocker), the click is recorded.
      const buttons = el("div", { class: "buttons" });
      n.actions.forEach((action, index) => {
        if (!/^https?:\/\//i.test(action.url)) return;
        const button = el("a", { class: `action${index ? "" : " action-primary"}`, href: action.url,
                                 target: "_blank", rel: "noopener noreferrer nofollow" }, action.label);
        button.addEventListener("click", () => this.clicked(n, index));
        buttons.append(button);
      });
      content.append(buttons);
    }
    content.append(meta);
    const actions = el("div", { class: "actions" });
    if (this.view === "archived") {
      const restore = el("button", { class: "icon-button", type: "button", title: "Restore",
                                     "aria-label": `Restore “${n.title}” to the inbox` }, icon("restore"));
      restore.addEventListener("click", () => this.archive(n.id, restore, true));
      actions.append(restore);
    }
    if (!n.read) {
      const read = el("button", { class: "icon-button", type: "button", title: "Mark read",
                                  "aria-label": `Mark “${n.title}” read`, "data-read": "" },
                      icon("read"));
      read.addEventListener("click", () => this.markRead([n.id], read));
      actions.append(read);
    }
    if (this.view === "snoozed") {
      const back = el("button", { class: "icon-button", type: "button", title: "Back to inbox",
                                  "aria-label": `Bring “${n.title}” back to the inbox now` }, icon("restore"));
      back.addEventListener("click", () => this.unsnooze(n.id, back));
      actions.append(back);
    }
    if (this.view === "inbox" && n.source !== "broadcast") {
      const menu = el("div", { class: "snooze-menu", role: "group", hidden: "",
                               "aria-label": `Snooze “${n.title}” until` });
      const snooze = el("button", { class: "icon-button", type: "button", title: "Snooze",
                                    "aria-expanded": "false", "aria-label": `Snooze “${n.title}”` },
                        icon("snooze"));
      snooze.addEventListener("click", () => {
        menu.hidden = !menu.hidden;
        snooze.setAttribute("aria-expanded", String(!menu.hidden));
        if (!menu.hidden) menu.querySelector("button").focus();
      });
      for (const [words, when] of SNOOZE_CHOICES) {
        const choice = el("button", { type: "button" }, words);
        choice.addEventListener("click", () => this.snooze(n.id, when(new Date()), choice));
        menu.append(choice);
      }
      content.append(menu);
      actions.append(snooze);
    }
    if (this.view === "inbox" && n.source !== "broadcast") {
      const archive = el("button", { class: "icon-button", type: "button", title: "Archive",
                                     "aria-label": `Archive “${n.title}”` }, icon("archive"));
      archive.addEventListener("click", () => this.archive(n.id, archive, false));
      actions.append(archive);
    }
    const dismiss = el("button", { class: "icon-button", type: "button", title: "Dismiss",
                                   "aria-label": `Dismiss “${n.title}”` }, icon("dismiss"));
    dismiss.addEventListener("click", () => this.remove(n.id, dismiss));
    actions.append(dismiss);
    return el("li", { class: `item priority-${n.priority}${n.read ? "" : " is-unread"}`, "data-id": n.id,
                      "data-thread": n.thread || null },
              el("span", { class: "dot", "aria-hidden": "true" }), content, actions);
  }

  // In the inbox the items of a thread shown are one row: the newest, with how many there
  // are and how many unread, a toggle for the others (listed under it), and a Mark read
  // button that reads the whole thread. Made again whenever one of them changes.
  regroup(thread) {
    if (!thread || this.view !== "inbox") return;
    const entries = [...this.items.values()].filter(({ data }) => data.thread === thread)
      .sort((a, b) => (newer(a.data.id, b.data.id) ? -1 : 1));
    for (const { node } of entries) this.unthread(node);
    if (!entries.length) return;
    const [head, ...others] = entries;
    let before = null;
    for (const child of this.list.children) {
      if (child !== head.node && newer(head.data.id, child.dataset.id)) { before = child; break; }
    }
    this.list.insertBefore(head.node, before);
    if (!others.length) return;
    const node = head.node;
    const count = entries.length;
    const unread = entries.filter(({ data }) => !data.read).length;
    const open = this.openThreads.has(thread);
    node.classList.add("thread-head");
    const meta = node.querySelector(".meta");
    meta.insertBefore(el("span", { class: "tag tag-thread", "data-thread-count": "" },
                         `${count} in thread${unread ? ` · ${unread} unread` : ""}`),
                      meta.querySelector("time"));
    const listId = `thread-${head.data.id}`;
    const toggle = el("button", { class: "thread-toggle", type: "button", "aria-expanded": String(open),
                                  "aria-controls": listId, "data-thread-toggle": "" },
                      `${open ? "Hide" : "Show"} ${count - 1} earlier`);
    const earlier = el("ol", { class: "thread-items", id: listId, "aria-label": "Earlier in this thread",
                               hidden: open ? null : "" }, ...others.map((entry) => entry.node));
    toggle.addEventListener("click", () => {
      const opening = !this.openThreads.has(thread);
      if (opening) this.openThreads.add(thread); else this.openThreads.delete(thread);
      toggle.setAttribute("aria-expanded", String(opening));
      toggle.textContent = `${opening ? "Hide" : "Show"} ${count - 1} earlier`;
      earlier.hidden = !opening;
    });
    meta.after(toggle);
    const own = node.querySelector(".actions [data-read]");
    if (own) own.hidden = true;
    if (unread) {
      const read = el("button", { class: "icon-button", type: "button", title: "Mark thread read",
                                  "aria-label": `Mark the thread of “${head.data.title}” read`,
                                  "data-thread-read": "" }, icon("read"));
      read.addEventListener("click", () => this.markThreadRead(thread, read));
      node.querySelector(".actions").prepend(read);
    }
    node.append(earlier);
  }

  // Takes away what makes node a thread's row (the others it listed are detached).
  unthread(node) {
    node.classList.remove("thread-head");
    for (const part of node.querySelectorAll(
      ":scope > .content > [data-thread-toggle], :scope > .content > .meta > [data-thread-count], " +
      ":scope > .actions > [data-thread-read], :scope > .thread-items")) part.remove();
    const own = node.querySelector(":scope > .actions > [data-read]");
    if (own) own.hidden = false;
  }

  // Mirrors notifier.model.types.chip_of: the label of a described type; for a broadcast,
  // else its kind's name; else the slug, and no chip for an untyped notification.
  chip(n) {
    const chips = this.chips || {};
    const labels = chips.labels || {};
    if (Object.hasOwn(labels, n.type)) return labels[n.type];
    if (n.source === "broadcast") {
      return (chips.broadcast || { system: "Announcement", maintenance: "Maintenance" })[n.type] || n.type;
    }
    return n.type === (chips.untyped || "general") ? null : n.type;
  }

  // A click on n's link or action: recorded (it becomes read); a broadcast is only marked read.
  clicked(n, target) {
    if (n.source === "broadcast") {
      if (!n.read) this.markRead([n.id]);
      return;
    }
    this.client.click(n.id, target).catch((error) => this.client.emit("error", error));
  }

  // Seen receipts for what the open panel shows (live ones are acknowledged by the client).
  reportSeen() {
    const ids = [];
    for (const { data } of this.items.values()) {
      if (data.source !== "broadcast" && !this.seen.has(data.id)) ids.push(data.id);
    }
    for (const id of ids) this.seen.add(id);
    for (let i = 0; i < ids.length; i += 100) {
      this.client.markSeen(ids.slice(i, i + 100)).catch((error) => this.client.emit("error", error));
    }
  }

  // Put n in the list in feed order (or update it in place).
  upsert(n, { fresh = false } = {}) {
    const existing = this.items.get(n.id);
    if (isExpired(n)) {
      if (existing) this.drop(n.id);
      return;
    }
    const node = this.item(n);
    if (fresh) node.classList.add("is-new");
    if (existing) {
      existing.node.replaceWith(node);
    } else {
      let before = null;
      for (const child of this.list.children) {
        if (newer(n.id, child.dataset.id)) { before = child; break; }
      }
      // An item older than the last one shown belongs to a page not loaded yet.
      if (!before && this.next && !fresh) return;
      this.list.insertBefore(node, before);
    }
    this.items.set(n.id, { data: n, node });
    this.regroup(n.thread);
    this.refreshNote();
  }

  drop(id) {
    const entry = this.items.get(id);
    if (!entry) return;
    const focused = this.shadow.activeElement && entry.node.contains(this.shadow.activeElement);
    const neighbour = entry.node.nextElementSibling || entry.node.previousElementSibling;
    entry.node.remove();
    this.items.delete(id);
    this.regroup(entry.data.thread);  // the others its row listed
    if (focused) (neighbour?.querySelector(".actions button") || this.panel).focus();
    this.refreshNote();
  }

  setRead(ids) {
    for (const id of ids) {
      const entry = this.items.get(id);
      if (entry && !entry.data.read) {
        const focused = this.shadow.activeElement && entry.node.contains(this.shadow.activeElement);
        this.upsert({ ...entry.data, read: true });
        if (focused) this.items.get(id)?.node.querySelector(".actions button")?.focus();
      }
    }
  }

  refreshNote() {
    const empty = this.loaded && this.items.size === 0;
    if (this.errorText) {
      this.note.replaceChildren(el("strong", {}, "Notifications are unavailable"), this.errorText);
    } else if (empty) {
      const words = {
        archived: [el("strong", {}, "Nothing archived"), "Archived notifications stay here until you restore them."],
        snoozed: [el("strong", {}, "Nothing snoozed"), "Snoozed notifications come back to the inbox unread."],
        inbox: [el("strong", {}, "You’re all caught up"), "New notifications will show up here."],
      };
      this.note.replaceChildren(...words[this.view]);
    } else if (!this.loaded) {
      this.note.replaceChildren("Loading…");
    }
    this.note.hidden = !(this.errorText || empty || !this.loaded);
    this.foot.hidden = !this.loaded || !this.next;
  }

  setUnread(count) {
    this.unread = count;
    const known = typeof count === "number";
    this.badge.hidden = !known || count === 0;
    this.badge.textContent = known ? (count > 99 ? "99+" : String(count)) : "";
    this.count.textContent = known && count ? ` · ${count} unread` : "";
    this.markAll.hidden = !known || count === 0;
    this.bell.setAttribute("aria-label", known && count
      ? `Notifications, ${count} unread` : "Notifications");
    this.host.dataset.unread = known ? String(count) : "";
  }

  setState(state) {
    this.host.dataset.state = state;
    this.bell.classList.toggle("is-off", state === "unavailable");
    this.status.textContent = state === "reconnecting" ? "Reconnecting…" : "";
  }

  announce(text) {
    // Cleared first, so the same words twice are read twice.
    this.live.textContent = "";
    setTimeout(() => { this.live.textContent = text; }, 50);
  }

  // -- behaviour ----------------------------------------------------------------------
  listen() {
    const client = this.client;
    client.on("state", ({ state }) => {
      if (state === "live") this.errorText = null;
      this.setState(state === "reconnecting" && this.unread === null ? "unavailable" : state);
    });
    client.on("error", () => { if (this.unread === null) this.setState("unavailable"); });
    client.on("unread", ({ unread }) => this.setUnread(unread));
    client.on("notification", (n) => this.arrived(n));
    client.on("broadcast", (n) => this.arrived(n));
    client.on("read", ({ ids }) => this.setRead(ids));
    client.on("deleted", ({ ids }) => ids.forEach((id) => this.drop(id)));
    // Archived items leave the inbox and join Archived; restored ones go back. The events
    // name ids only: the list that gains items is fetched again.
    client.on("archived", ({ ids }) => this.moved(ids, "archived"));
    client.on("restored", ({ ids }) => this.moved(ids, "inbox"));
    client.on("snoozed", ({ ids }) => this.moved(ids, "snoozed"));
    client.on("reset", () => { if (this.loaded) this.load(true); });

    this.bell.addEventListener("click", () => (this.isOpen() ? this.close(false) : this.open()));
    this.markAll.addEventListener("click", () => this.markAllRead());
    this.more.addEventListener("click", () => this.load(false));
    for (const [view, button] of Object.entries(this.viewButtons)) {
      button.addEventListener("click", () => this.show(view));
    }
    this.shadow.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen()) {
        event.stopPropagation();
        this.close(true);
      }
    });
    this.panel.addEventListener("focusout", (event) => {
      const next = event.relatedTarget;
      if (next && !this.shadow.contains(next) && next !== this.host) this.close(false);
    });
    document.addEventListener("click", (event) => {
      if (this.isOpen() && !event.composedPath().includes(this.host)) this.close(false);
    });
    this.place = this.place.bind(this);
  }

  arrived(n) {
    const known = this.items.has(n.id);
    if (!known && !n.read && !isExpired(n)) {
      this.announce(`New notification: ${n.title}`);
    }
    if (this.view !== "inbox") return;  // new items belong to the inbox
    if (this.loading) this.pending.push(n);
    else if (this.loaded) this.upsert(n, { fresh: !known });
  }

  // ids went to `view` (archived or inbox) elsewhere: they leave this list, or the list
  // that gains them is loaded again.
  moved(ids, view) {
    if (this.view !== view) ids.forEach((id) => this.drop(id));
    else if (this.loaded && ids.some((id) => !this.items.has(id))) this.reload();
  }

  // Load the first page again (after the one under way, if any).
  async reload() {
    if (this.loading) await this.loading;
    return this.load(true);
  }

  // Switch between the inbox and the archived notifications.
  show(view) {
    if (view === this.view) return;
    this.view = view;
    for (const [name, button] of Object.entries(this.viewButtons)) {
      button.setAttribute("aria-pressed", String(name === view));
    }
    this.list.replaceChildren();
    this.items.clear();
    this.next = null;
    this.loaded = false;
    this.refreshNote();
    this.reload();
  }

  isOpen() {
    return !this.panel.hidden;
  }

  open() {
    this.panel.hidden = false;
    this.bell.setAttribute("aria-expanded", "true");
    this.place();
    window.addEventListener("resize", this.place, { passive: true });
    window.addEventListener("scroll", this.place, { passive: true, capture: true });
    for (const { node, data } of this.items.values()) {
      node.querySelector("time").textContent = ago(data.created_at);
    }
    this.panel.focus({ preventScroll: true });
    if (!this.loaded && !this.loading) this.load(true);
    else this.reportSeen();
  }

  close(returnFocus) {
    this.panel.hidden = true;
    this.bell.setAttribute("aria-expanded", "false");
    window.removeEventListener("resize", this.place);
    window.removeEventListener("scroll", this.place, { capture: true });
    if (returnFocus) this.bell.focus();
  }

  // Under the bell, inside the viewport (above it when there is more room there).
  place() {
    const rect = this.bell.getBoundingClientRect();
    const width = this.panel.offsetWidth;
    const gap = 8;
    const left = Math.min(Math.max(gap, rect.right - width), window.innerWidth - width - gap);
    const below = window.innerHeight - rect.bottom - 2 * gap;
    const above = rect.top - 2 * gap;
    const style = this.panel.style;
    style.left = `${Math.max(gap, left)}px`;
    if (below >= 260 || below >= above) {
      style.top = `${rect.bottom + gap}px`;
      style.bottom = "auto";
      style.maxHeight = `${Math.max(160, below)}px`;
    } else {
      style.top = "auto";
      style.bottom = `${window.innerHeight - rect.top + gap}px`;
      style.maxHeight = `${Math.max(160, above)}px`;
    }
  }

  // The first page (`fresh`: replacing what is shown) or the next one ("Load more", after
  // which focus moves to the first item it brought).
  async load(fresh) {
    if (this.loading) return this.loading;
    const fromMore = !fresh && this.shadow.activeElement === this.more;
    this.more.setAttribute("aria-disabled", "true");
    this.loading = (async () => {
      let first = null;
      try {
        const view = this.view;
        // How the server names types (GET /me/types), fetched with the first page.
        const [page] = await Promise.all([
          this.client.list({ limit: this.pageSize, before: fresh ? null : this.next,
                             archived: view === "archived", snoozed: view === "snoozed" }),
          this.chips ? null : this.client.request("GET", "/types").then(
            (chips) => { this.chips = chips; }, () => {}),
        ]);
        if (view !== this.view) return;  // switched meanwhile: that view's load follows
        if (fresh) {
          this.list.replaceChildren();
          this.items.clear();
        }
        this.errorText = null;
        this.next = null;  // while appending the page, nothing is "older than shown"
        this.loaded = true;
        for (const n of page.notifications) {
          if (this.items.has(n.id)) continue;
          this.upsert(n);
          first = first || n.id;
        }
        this.next = page.next;
      } catch (error) {
        if (fresh || !this.loaded) {
          this.errorText = error.status === 0 ? "Check your connection and try again."
            : "Please try again in a moment.";
        } else {
          this.announce("More notifications could not be loaded. Please try again.");
        }
      } finally {
        this.more.removeAttribute("aria-disabled");
        this.loading = null;
        const arrived = this.pending.splice(0);
        if (this.loaded) for (const n of arrived) this.upsert(n, { fresh: !this.items.has(n.id) });
        this.refreshNote();
        if (this.isOpen()) this.reportSeen();
        if (fromMore && first) this.items.get(first)?.node.querySelector("a, button")?.focus();
      }
    })();
    return this.loading;
  }

  // A button stays enabled (and focused) while its call runs; aria-disabled marks it busy.
  async busy(button, call) {
    if (button?.getAttribute("aria-disabled") === "true") return;
    button?.setAttribute("aria-disabled", "true");
    try {
      await call();
    } catch (error) {
      this.announce("That did not work. Please try again.");
    } finally {
      button?.removeAttribute("aria-disabled");
    }
  }

  markRead(ids, button) {
    return this.busy(button, async () => {
      const { unread } = await this.client.markRead(ids);
      this.setRead(ids);
      this.setUnread(unread);
    });
  }

  // Reads every unread item of the thread, shown or not.
  markThreadRead(thread, button) {
    return this.busy(button, async () => {
      const { unread } = await this.client.markThreadRead(thread);
      this.setRead([...this.items.values()].filter(({ data }) => data.thread === thread)
        .map(({ data }) => data.id));
      this.setUnread(unread);
    });
  }

  markAllRead() {
    return this.busy(this.markAll, async () => {
      const { unread } = await this.client.markAllRead();
      if (this.shadow.activeElement === this.markAll) this.panel.focus();  // it hides next
      this.setRead([...this.items.keys()]);
      this.setUnread(unread);
    });
  }

  // Archive an item (or restore one, in the Archived view): it leaves this list.
  archive(id, button, restore) {
    return this.busy(button, async () => {
      try {
        const { unread } = await (restore ? this.client.unarchive(id) : this.client.archive(id));
        this.setUnread(unread);
      } catch (error) {
        if (error.status !== 404) throw error;  // 404: moved already
      }
      this.drop(id);
    });
  }

  // Snooze an item until `until` (a Date): it leaves the inbox until then.
  snooze(id, until, button) {
    return this.busy(button, async () => {
      const { unread } = await this.client.snooze(id, until);
      this.setUnread(unread);
      this.drop(id);
    });
  }

  // Bring a snoozed item back to the inbox now.
  unsnooze(id, button) {
    return this.busy(button, async () => {
      const { unread } = await this.client.unsnooze(id);
      this.setUnread(unread);
      this.drop(id);
    });
  }

  remove(id, button) {
    return this.busy(button, async () => {
      try {
        const { unread } = await this.client.remove(id);
        this.setUnread(unread);
      } catch (error) {
        if (error.status !== 404) throw error;  // 404: gone already
      }
      this.drop(id);
    });
  }
}

function mount() {
  if (!script || script.dataset.notifierMounted) return;
  const tokenUrl = script.dataset.tokenUrl;
  if (!tokenUrl) {
    console.error("notifier-widget: the script tag needs data-token-url");
    return;
  }
  script.dataset.notifierMounted = "true";
  const host = document.createElement("div");
  host.className = "notifier-widget";
  const theme = script.dataset.theme;
  if (theme === "light" || theme === "dark") host.dataset.theme = theme;
  const target = script.dataset.target ? document.querySelector(script.dataset.target) : null;
  if (target) target.append(host);
  else if (document.body && document.body.contains(script)) script.before(host);
  else {
    host.classList.add("floating");
    document.body.append(host);
  }
  const baseUrl = script.dataset.baseUrl || new URL("..", script.src).href;
  const pageSize = Math.min(100, Math.max(1, Number(script.dataset.pageSize) || 10));
  const transport = script.dataset.transport === "websocket" ? "websocket" : "sse";
  host.notifier = new BellWidget(host, { baseUrl, tokenUrl, pageSize, transport });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
else mount();
