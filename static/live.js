// Live inbox: a native EventSource keeps this page in step with the user's stream.
// New notifications appear at the top, the badge and title count follow every
// change, reads and deletes made in other tabs show here. Forms keep working
// without this script; with it they post in the background.
(() => {
  "use strict";

  const root = document.querySelector("[data-live-inbox]");
  const badge = document.querySelector("[data-unread-badge]");
  const status = document.querySelector("[data-live-status]");
  const toasts = document.querySelector("[data-toasts]");
  if (!root) return;

  const list = () => root.querySelector("ol.notes");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const showsNewest = root.dataset.showsNewest === "true";
  const unreadOnly = root.dataset.unreadOnly === "true";
  const baseTitle = document.title.replace(/^\(\d+\+?\) /, "");

  function setUnread(count) {
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.setAttribute("aria-label", `${count} unread`);
    badge.classList.toggle("badge-empty", count === 0);
    document.title = (count ? `(${count}) ` : "") + baseTitle;
    const summary = root.querySelector("[data-unread-summary]");
    if (summary) summary.textContent = count ? `${count} unread` : "You're all caught up";
    const markAll = root.querySelector("[data-mark-all]");
    if (markAll) markAll.hidden = count === 0;
  }

  function setStatus(state) {
    if (!status) return;
    status.dataset.state = state;
    status.title = state === "live" ? "Live: new notifications appear as they arrive"
      : "Reconnecting…";
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    for (const child of children) node.append(child);
    return node;
  }

  function actionForm(action, fields, label, icon) {
    const form = el("form", { method: "post", action });
    form.append(el("input", { type: "hidden", name: "csrf_token", value: csrf }));
    for (const [name, value] of Object.entries(fields)) {
      form.append(el("input", { type: "hidden", name, value }));
    }
    const button = el("button", { class: "icon-button", type: "submit", title: label.split(" “")[0],
                                  "aria-label": label });
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", icon);
    svg.append(path);
    button.append(svg);
    form.append(button);
    return form;
  }

  const ICON_READ = "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z";
  const ICON_DELETE = "M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6v12ZM19 4h-3.5l-1-1h-5l-1 1H5v2h14V4Z";

  // Mirrors templates/inbox/index.html; text goes in through textContent only.
  function renderNote(n) {
    const meta = el("div", { class: "note-meta" }, el("span", { class: "tag" }, n.type));
    if (n.priority === "high" || n.priority === "urgent") {
      meta.append(el("span", { class: `tag tag-${n.priority}` }, n.priority));
    }
    if (!n.read) meta.append(el("span", { class: "visually-hidden" }, "Unread."));
    meta.append(el("time", { datetime: n.created_at, title: n.created_at }, "just now"));
    const title = el("h2", { class: "note-title" });
    if (n.link && /^https?:\/\//i.test(n.link)) {
      title.append(el("a", { href: n.link, rel: "noopener noreferrer nofollow", target: "_blank" },
                      n.title));
    } else {
      title.append(n.title);
    }
    const main = el("div", { class: "note-main" }, meta, title);
    if (n.body) main.append(el("p", { class: "note-body" }, n.body));
    const actions = el("div", { class: "note-actions" });
    if (!n.read) {
      actions.append(actionForm("/inbox/read", { id: n.id, next: "/inbox" },
                                `Mark “${n.title}” read`, ICON_READ));
    }
    actions.append(actionForm(`/inbox/${encodeURIComponent(n.id)}/delete`, { next: "/inbox" },
                              `Delete “${n.title}”`, ICON_DELETE));
    return el("li", { class: `note priority-${n.priority}${n.read ? "" : " is-unread"}`,
                      id: `n-${n.id}`, "data-id": n.id },
              el("span", { class: "note-dot", "aria-hidden": "true" }), main, actions);
  }

  function addNote(n) {
    if (!showsNewest || document.getElementById(`n-${n.id}`)) return;
    let notes = list();
    if (!notes) {
      root.querySelector(".empty")?.remove();
      notes = el("ol", { class: "notes", "aria-label": "Notifications" });
      root.querySelector("[data-notes-slot]").append(notes);
    }
    const item = renderNote(n);
    item.classList.add("is-new");
    notes.prepend(item);
    root.querySelector('input[name="up_to"]')?.setAttribute("value", n.id);
  }

  function markRead(ids) {
    for (const id of ids) {
      const item = document.getElementById(`n-${id}`);
      if (!item) continue;
      if (unreadOnly) { item.remove(); continue; }
      item.classList.remove("is-unread");
      item.querySelector(".note-meta .visually-hidden")?.remove();
      item.querySelector('form[action="/inbox/read"]')?.remove();
    }
  }

  function remove(ids) {
    for (const id of ids) document.getElementById(`n-${id}`)?.remove();
  }

  function toast(n) {
    if (!toasts) return;
    const close = el("button", { class: "toast-close", type: "button", "aria-label": "Dismiss" },
                     "×");
    const item = el("div", { class: `toast toast-${n.priority}`, role: "status" },
                    el("strong", {}, n.title), close);
    if (n.body) item.insertBefore(el("p", {}, n.body), close);
    close.addEventListener("click", () => item.remove());
    toasts.append(item);
    setTimeout(() => item.remove(), 8000);
  }

  // Forms post in the background; the stream then updates this and every other tab.
  root.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post") return;
    event.preventDefault();
    const response = await fetch(form.action, {
      method: "POST", body: new FormData(form), headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin",
    });
    if (!response.ok) { form.submit(); return; }
    const data = new FormData(form);
    if (form.action.endsWith("/delete")) remove([form.closest("li").dataset.id]);
    else if (data.get("all")) markRead([...root.querySelectorAll("li.note")].map((li) => li.dataset.id));
    else markRead(data.getAll("id"));
  });

  const params = new URLSearchParams({ last_event_id: root.dataset.lastEventId });
  const source = new EventSource(`/events?${params}`);
  source.addEventListener("open", () => setStatus("live"));
  source.addEventListener("error", () => setStatus("reconnecting"));
  source.addEventListener("notification", (event) => {
    const n = JSON.parse(event.data);
    addNote(n);
    if (n.priority === "high" || n.priority === "urgent") toast(n);
  });
  source.addEventListener("unread", (event) => setUnread(JSON.parse(event.data).unread));
  source.addEventListener("read", (event) => markRead(JSON.parse(event.data).ids));
  source.addEventListener("deleted", (event) => remove(JSON.parse(event.data).ids));
  source.addEventListener("reset", () => window.location.reload());
})();
