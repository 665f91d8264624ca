// Live inbox: a native EventSource keeps this page in step with the user's stream.
// Items are built by static/note.js, loaded before this file.
// New notifications appear at the top, the badge and title count follow every
// change, reads and deletes made in other tabs show here. During the user's quiet
// hours nothing pops up (urgent ones excepted); a type with in-app switched off is
// only counted. Forms keep working
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

  const { el } = window.NotifierNote;
  const renderNote = (n) => window.NotifierNote.render(n, csrf);

  function addNote(n, position) {
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
    if (position) root.querySelector('input[name="up_to"]')?.setAttribute("value", position);
  }

  // A broadcast arrives new, or again when it changed (a window ended early).
  function upsertBroadcast(b, position) {
    const existing = document.getElementById(`n-${b.id}`);
    const expired = b.expires_at && Date.parse(b.expires_at) <= Date.now();
    if (existing) {
      if (expired) { existing.remove(); return; }
      const read = !existing.classList.contains("is-unread");
      existing.replaceWith(renderNote({ ...b, read }));
      return;
    }
    if (!expired && !(unreadOnly && b.read)) addNote(b, position);
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

  // Seen receipts: what this page showed live, once the tab is visible, in batches.
  const unseen = new Set();
  let seenTimer = null;
  function reportSeen() {
    seenTimer = null;
    if (document.visibilityState !== "visible" || !unseen.size) return;
    const body = new FormData();
    body.append("csrf_token", csrf);
    for (const id of [...unseen].slice(0, 100)) { body.append("id", id); unseen.delete(id); }
    fetch("/inbox/seen", { method: "POST", body, credentials: "same-origin",
                           headers: { "X-Requested-With": "fetch" } }).catch(() => {});
    if (unseen.size) seenTimer = setTimeout(reportSeen, 1000);
  }
  function seen(id) {
    if (id.startsWith("b")) return;  // broadcasts have no per-user receipts
    unseen.add(id);
    if (!seenTimer) seenTimer = setTimeout(reportSeen, 1000);
  }
  document.addEventListener("visibilitychange", () => { if (!seenTimer) reportSeen(); });

  // A click on a notification's link is recorded in the background (the link opens as usual).
  root.addEventListener("click", (event) => {
    const link = event.target.closest?.("a[data-note-link]");
    if (!link) return;
    const body = new FormData();
    body.append("csrf_token", csrf);
    body.append("target", "link");
    // keepalive: sent even as the page is left; manual: the answer's redirect is not followed.
    fetch(`/inbox/${encodeURIComponent(link.closest("li").dataset.id)}/click`, {
      method: "POST", body, keepalive: true, redirect: "manual", credentials: "same-origin",
    }).catch(() => {});
  });

  // Forms post in the background; the stream then updates this and every other tab.
  // Action buttons (data-native) submit for real: they open their page in a new tab.
  root.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post") return;
    if (form.hasAttribute("data-native")) return;
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
    // The user's preferences, decided when it was sent: in-app off for its type
    // ("live": false) keeps it out of the live list (it is in the inbox, and the
    // badge counts it); quiet hours ("quiet": true) keep it from popping up.
    if (n.live === false) return;
    addNote(n, event.lastEventId);
    if (showsNewest) seen(n.id);
    if (!n.quiet && (n.priority === "high" || n.priority === "urgent")) toast(n);
  });
  source.addEventListener("broadcast", (event) => {
    const b = JSON.parse(event.data);
    const isNew = !document.getElementById(`n-${b.id}`);
    upsertBroadcast(b, event.lastEventId);
    if (isNew && !b.read && (b.priority === "high" || b.priority === "urgent")) toast(b);
  });
  source.addEventListener("unread", (event) => setUnread(JSON.parse(event.data).unread));
  source.addEventListener("read", (event) => markRead(JSON.parse(event.data).ids));
  source.addEventListener("deleted", (event) => remove(JSON.parse(event.data).ids));
  source.addEventListener("reset", () => window.location.reload());
  // Signed out (here or everywhere) or disabled: the reload lands on the sign-in page.
  source.addEventListener("revoked", () => window.location.reload());
})();
