// Live inbox: the user's stream (static/live-stream.js, shared by every tab, which also
// keeps the badge, the title and the toasts) keeps this page's list in step.
// Items are built by static/note.js, loaded before this file.
// New notifications appear at the top, reads, deletes, archives and restores made in
// other tabs show here (the Archived view, data-view="archived", keeps its own list in
// step, as does Snoozed); a type with in-app switched off is only counted. Forms keep working without
// this script; with it they post in the background. In the Inbox view the items of a thread
// on the page are one row (the server renders them so): a live item of a thread shown moves
// its row to the top with the item as its head.
(() => {
  "use strict";

  const root = document.querySelector("[data-live-inbox]");
  if (!root || !window.NotifierLive) return;

  const list = () => root.querySelector("ol.notes");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const showsNewest = root.dataset.showsNewest === "true";
  const unreadOnly = root.dataset.unreadOnly === "true";
  const readOnly = root.dataset.readOnly === "true";
  const split = (value, by) => (value ? value.split(by) : []);
  const types = split(root.dataset.filterTypes, ",");
  const priorities = split(root.dataset.filterPriorities, ",");
  const words = split(root.dataset.filterWords, " ");
  const view = root.dataset.view;  // inbox, snoozed or archived

  // Whether an item that arrives live belongs in this filtered list (as the server decides).
  function wanted(n) {
    if (view !== "inbox") return false;  // new arrivals belong to the inbox
    if ((unreadOnly && n.read) || (readOnly && !n.read)) return false;
    if (types.length && !types.includes(n.type)) return false;
    if (priorities.length && !priorities.includes(n.priority)) return false;
    const text = `${n.title}\n${n.body || ""}`.toLowerCase();
    return words.every((word) => text.includes(word));
  }

  function setUnread(count) {
    const summary = root.querySelector("[data-unread-summary]");
    if (summary) summary.textContent = count ? `${count} unread` : "You're all caught up";
    const markAll = root.querySelector("[data-mark-all]");
    if (markAll) markAll.hidden = count === 0;
  }

  const { el, threadRow, toggleLabel } = window.NotifierNote;
  const renderNote = (n) => window.NotifierNote.render(n, csrf);

  // Stream ids, "<ms>-<seq>", newest first.
  const idParts = (li) => li.dataset.id.replace(/^b/, "").split("-").map(Number);
  function byNewest(a, b) {
    const [am, as] = idParts(a);
    const [bm, bs] = idParts(b);
    return bm - am || bs - as;
  }
  const threadItems = (thread) => [...(list()?.querySelectorAll("li.note") || [])]
    .filter((li) => li.dataset.thread === thread);

  // The items of a thread on this page, made one row again: its newest item heads it, the
  // others under it, and it takes its place among the rows by that item's age (as the page
  // renders it); an open row stays open.
  function regroup(thread) {
    const notes = list();
    const found = threadItems(thread);
    if (view !== "inbox" || !found.length) return;
    const toggle = found.filter((li) => li.parentElement === notes)
      .map((li) => li.querySelector(":scope > .note-main > [data-thread-toggle]")).find(Boolean);
    const open = toggle?.getAttribute("aria-expanded") === "true";
    const [head, ...others] = found.sort(byNewest);
    const place = [...notes.children].find((li) => li.dataset.thread !== thread
                                                  && byNewest(head, li) < 0);
    notes.insertBefore(head, place || null);
    threadRow(head, others, csrf, open);
  }
  const threadsOf = (ids) => new Set(ids.map((id) => document.getElementById(`n-${id}`)?.dataset.thread)
    .filter(Boolean));

  function addNote(n, position) {
    if (!showsNewest || document.getElementById(`n-${n.id}`) || !wanted(n)) return;
    let notes = list();
    if (!notes) {
      root.querySelector(".empty")?.remove();
      notes = el("ol", { class: "notes", "aria-label": "Notifications" });
      root.querySelector("[data-notes-slot]").append(notes);
    }
    const item = renderNote(n);
    item.classList.add("is-new");
    notes.prepend(item);
    if (n.thread) regroup(n.thread);
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
    if (!expired) addNote(b, position);
  }

  function markRead(ids) {
    const threads = threadsOf(ids);
    for (const id of ids) {
      const item = document.getElementById(`n-${id}`);
      if (!item) continue;
      if (unreadOnly) { unwrap(item); continue; }
      item.classList.remove("is-unread");
      item.querySelector(":scope > .note-main > .note-meta > .visually-hidden")?.remove();
      item.querySelector(':scope > .note-actions > form[action="/inbox/read"]')?.remove();
    }
    for (const thread of threads) regroup(thread);
  }

  // Takes item out of the list; the older items of its thread it headed stay listed.
  function unwrap(item) {
    const others = item.querySelector(":scope > .thread-items");
    if (others) item.after(...others.children);
    item.remove();
  }

  // Items leave the list; an emptied list is fetched again (older items, or the empty state).
  function remove(ids) {
    const threads = threadsOf(ids);
    for (const id of ids) {
      const item = document.getElementById(`n-${id}`);
      if (item) unwrap(item);
    }
    for (const thread of threads) regroup(thread);
    if (list() && !list().querySelector("li.note")) refreshList();
  }

  // Items that join this list with only their ids known (restored to the inbox, archived
  // elsewhere; no ids: whatever it holds now): the page is fetched again and its list
  // replaces this one.
  let refreshing = null;
  function refreshList(ids = null) {
    if (!showsNewest || ids?.every((id) => document.getElementById(`n-${id}`))) return;
    if (refreshing) { refreshing.again = true; return; }
    refreshing = { again: false };
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html")
          .querySelector("[data-notes-slot]");
        if (fresh) root.querySelector("[data-notes-slot]").replaceChildren(...fresh.childNodes);
      })
      .catch(() => {})
      .finally(() => {
        const again = refreshing.again;
        refreshing = null;
        if (again) refreshList();
      });
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

  // A thread row's toggle shows or hides the older items of the thread.
  root.addEventListener("click", (event) => {
    const toggle = event.target.closest?.("[data-thread-toggle]");
    if (!toggle) return;
    const open = toggle.getAttribute("aria-expanded") !== "true";
    const items = document.getElementById(toggle.getAttribute("aria-controls"));
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = toggleLabel(open, items.children.length);
    items.hidden = !open;
  });

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
    const data = new FormData(form);
    const by = event.submitter;
    if (by?.name && !data.has(by.name)) data.append(by.name, by.value);
    const response = await fetch(form.action, {
      method: "POST", body: data, headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin",
    });
    if (!response.ok) { form.submit(); return; }
    if (form.hasAttribute("data-bulk")) {
      const ids = data.getAll("id");
      if (data.get("op") === "read") markRead(ids); else remove(ids);
      for (const menu of form.querySelectorAll("details[open]")) menu.open = false;
      clearSelection();
    } else if (/\/(delete|archive|restore|snooze|unsnooze)$/.test(form.action)) remove([form.closest("li").dataset.id]);
    else if (data.has("thread")) markRead(threadItems(data.get("thread")).map((li) => li.dataset.id));
    else if (data.get("all")) markRead([...root.querySelectorAll("li.note")].map((li) => li.dataset.id));
    else markRead(data.getAll("id"));
  });

  // Bulk selection: each item's checkbox belongs to the bulk form (form="bulk").
  const bulk = root.querySelector("[data-bulk]");
  const selectAll = root.querySelector("[data-select-all]");
  const boxes = () => [...root.querySelectorAll("input.note-select")];
  function updateSelection() {
    if (!bulk) return;
    const all = boxes();
    const chosen = all.filter((box) => box.checked).length;
    bulk.querySelector("[data-selected-count]").textContent = chosen ? `${chosen} selected` : "";
    for (const button of bulk.querySelectorAll("button[name=op]")) button.disabled = !chosen;
    bulk.classList.toggle("has-selection", chosen > 0);
    bulk.classList.add("is-live");
    if (selectAll) {
      selectAll.checked = chosen > 0 && chosen === all.length;
      selectAll.indeterminate = chosen > 0 && chosen < all.length;
      selectAll.closest("label").hidden = all.length === 0;
    }
  }
  function clearSelection() {
    for (const box of boxes()) box.checked = false;
    updateSelection();
  }
  root.addEventListener("change", (event) => {
    if (event.target === selectAll) {
      for (const box of boxes()) box.checked = selectAll.checked;
    }
    updateSelection();
  });
  updateSelection();
  new MutationObserver(updateSelection).observe(root.querySelector("[data-notes-slot]"),
                                                { childList: true, subtree: true });

  // Density: comfortable or compact, remembered by this browser.
  const density = root.querySelector("[data-density]");
  const DENSITY_KEY = "notifier.inbox.density";
  function setCompact(on) {
    document.body.classList.toggle("density-compact", on);
    density.setAttribute("aria-pressed", String(on));
  }
  if (density) {
    let stored = null;
    try { stored = localStorage.getItem(DENSITY_KEY); } catch { /* storage off */ }
    setCompact(stored === "compact");
    density.hidden = false;
    density.addEventListener("click", () => {
      const on = density.getAttribute("aria-pressed") !== "true";
      setCompact(on);
      try { localStorage.setItem(DENSITY_KEY, on ? "compact" : "comfortable"); } catch { /* off */ }
    });
  }

  const live = window.NotifierLive;
  live.on("notification", (n, position) => {
    if (n.live === false) return;  // in-app off for its type: counted, not listed live
    addNote(n, position);
    if (showsNewest) seen(n.id);
  });
  live.on("broadcast", (b, position) => { if (view === "inbox") upsertBroadcast(b, position); });
  live.on("unread", (data) => setUnread(data.unread));
  live.on("read", (data) => markRead(data.ids));
  live.on("deleted", (data) => remove(data.ids));
  // Each moves items from one view to another: the one they join fetches its list again.
  const moves = { archived: "archived", snoozed: "snoozed", restored: "inbox" };
  for (const [event, to] of Object.entries(moves)) {
    live.on(event, (data) => (view === to ? refreshList(data.ids) : remove(data.ids)));
  }
  live.on("reset", () => window.location.reload());
})();
