// One inbox item, built in the browser exactly as templates/inbox/index.html renders it.
// Shared by the live inbox (static/live.js) and the admin's broadcast preview
// (static/admin-broadcasts.js). Text goes in through textContent only, never as HTML.
window.NotifierNote = (() => {
  "use strict";

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    for (const child of children) node.append(child);
    return node;
  }

  function icon(d) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", d);
    svg.append(path);
    return svg;
  }

  const ICON_READ = "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z";
  const ICON_ARCHIVE = "M20.54 5.23 19.15 3.55A1.5 1.5 0 0 0 18 3H6c-.47 0-.88.21-1.16.55L3.46 5.23A2 2 0 0 0 3 6.5V19a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V6.5c0-.48-.17-.93-.46-1.27ZM12 17.5 6.5 12H10v-2h4v2h3.5L12 17.5ZM5.12 5l.81-1h12l.94 1H5.12Z";
  const ICON_SNOOZE = "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16Zm.5-13H11v6l5.2 3.2.8-1.3-4.5-2.7V7Z";
  const SNOOZE_CHOICES = { hour: "In 1 hour", tomorrow: "Tomorrow 9:00", week: "Next week" };
  const ICON_DELETE = "M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6v12ZM19 4h-3.5l-1-1h-5l-1 1H5v2h14V4Z";

  // A form posting to the inbox; without a CSRF token (a preview) an inert button only.
  function action(csrf, url, fields, label, iconPath) {
    const button = el("button", { class: "icon-button", type: csrf ? "submit" : "button",
                                  title: label.split(" “")[0], "aria-label": label });
    button.append(icon(iconPath));
    if (!csrf) {
      button.disabled = true;
      return button;
    }
    const form = el("form", { method: "post", action: url });
    form.append(el("input", { type: "hidden", name: "csrf_token", value: csrf }));
    for (const [name, value] of Object.entries(fields)) {
      form.append(el("input", { type: "hidden", name, value }));
    }
    form.append(button);
    return form;
  }

  // The snooze menu of n (as templates/inbox/index.html renders it).
  function snoozeMenu(csrf, n) {
    const summary = el("summary", { class: "icon-button", title: "Snooze",
                                    "aria-label": `Snooze “${n.title}”` });
    summary.append(icon(ICON_SNOOZE));
    const form = el("form", { class: "menu-list", method: "post",
                              action: `/inbox/${encodeURIComponent(n.id)}/snooze`,
                              "aria-label": `Snooze “${n.title}” until` });
    form.append(el("input", { type: "hidden", name: "csrf_token", value: csrf }),
                el("input", { type: "hidden", name: "next", value: "/inbox" }));
    for (const [choice, words] of Object.entries(SNOOZE_CHOICES)) {
      form.append(el("button", { class: "menu-item", type: "submit", name: "for", value: choice },
                     words));
    }
    return el("details", { class: "menu" }, summary, form);
  }

  // Mirrors the window_time filter: "21 Nov 14:00" in UTC.
  function windowTime(iso) {
    const d = new Date(iso);
    const month = d.toLocaleString("en-GB", { month: "short", timeZone: "UTC" });
    const pad = (v) => String(v).padStart(2, "0");
    return `${pad(d.getUTCDate())} ${month} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  }

  // How the page names types (the server's type_chips(), in #type-chips).
  const chips = (() => {
    const source = document.getElementById("type-chips");
    try {
      return source ? JSON.parse(source.textContent) : {};
    } catch {
      return {};
    }
  })();

  // Mirrors notifier.model.types.chip_of: the label of a described type; for a broadcast,
  // else its kind's name; else the slug, and no chip for an untyped notification.
  function chip(n) {
    const labels = chips.labels || {};
    if (Object.hasOwn(labels, n.type)) return labels[n.type];
    if (n.source === "broadcast") return (chips.broadcast || {})[n.type] || n.type;
    return n.type === (chips.untyped || "general") ? null : n.type;
  }

  // The <li class="note"> of notification or broadcast n; its buttons post with csrf.
  function render(n, csrf) {
    const meta = el("div", { class: "note-meta" });
    const name = chip(n);
    if (n.source === "broadcast") {
      meta.append(el("span", { class: "tag tag-broadcast" }, name));
    } else {
      if (n.group) meta.append(el("span", { class: "tag" }, n.group));
      if (name) meta.append(el("span", { class: "tag", "data-type-chip": "" }, name));
    }
    if (n.priority === "high" || n.priority === "urgent") {
      meta.append(el("span", { class: `tag tag-${n.priority}` },
        n.priority[0].toUpperCase() + n.priority.slice(1)));
    }
    if (!n.read) meta.append(el("span", { class: "visually-hidden" }, "Unread."));
    meta.append(el("time", { datetime: n.created_at, title: n.created_at }, "just now"));
    const title = el("h2", { class: "note-title" });
    if (n.link && /^https?:\/\//i.test(n.link)) {
      title.append(el("a", { href: n.link, rel: "noopener noreferrer nofollow", target: "_blank",
                             "data-note-link": "" }, n.title));
    } else {
      title.append(n.title);
    }
    const main = el("div", { class: "note-main" }, meta, title);
    if (n.body) main.append(el("p", { class: "note-body" }, n.body));
    if (n.starts_at && n.ends_at) {
      main.append(el("p", { class: "note-window" }, "Scheduled ",
                     el("time", { datetime: n.starts_at }, windowTime(n.starts_at)), " – ",
                     el("time", { datetime: n.ends_at }, windowTime(n.ends_at)), " UTC"));
    }
    if (n.actions && n.actions.length) {
      const buttons = el("div", { class: "note-buttons" });
      n.actions.forEach((a, index) => {
        const button = el("button", { class: `button button-small${index ? "" : " button-primary"}`,
                                      type: csrf ? "submit" : "button" }, a.label);
        if (!csrf) { button.disabled = true; buttons.append(button); return; }
        const form = el("form", { method: "post", target: "_blank", "data-native": "",
                                  action: `/inbox/${encodeURIComponent(n.id)}/click` });
        form.append(el("input", { type: "hidden", name: "csrf_token", value: csrf }),
                    el("input", { type: "hidden", name: "target", value: String(index) }), button);
        buttons.append(form);
      });
      main.append(buttons);
    }
    const actions = el("div", { class: "note-actions" });
    if (!n.read) {
      actions.append(action(csrf, "/inbox/read", { id: n.id, next: "/inbox" },
                            `Mark “${n.title}” read`, ICON_READ));
    }
    if (n.source !== "broadcast" && csrf) actions.append(snoozeMenu(csrf, n));
    if (n.source !== "broadcast") {
      actions.append(action(csrf, `/inbox/${encodeURIComponent(n.id)}/archive`, { next: "/inbox" },
                            `Archive “${n.title}”`, ICON_ARCHIVE));
    }
    const verb = n.source === "broadcast" ? "Dismiss" : "Delete";
    actions.append(action(csrf, `/inbox/${encodeURIComponent(n.id)}/delete`, { next: "/inbox" },
                          `${verb} “${n.title}”`, ICON_DELETE));
    const select = el("input", { class: "note-select", type: "checkbox", form: "bulk", name: "id",
                                 value: n.id, "aria-label": `Select “${n.title}”` });
    if (!csrf) select.disabled = true;
    const item = el("li", { class: `note priority-${n.priority}${n.read ? "" : " is-unread"}`,
                            id: `n-${n.id}`, "data-id": n.id },
                    select, el("span", { class: "note-dot", "aria-hidden": "true" }), main, actions);
    if (n.thread) item.dataset.thread = n.thread;
    return item;
  }

  // What a thread row's toggle says, open or not, with n items under the newest.
  const toggleLabel = (open, n) => `${open ? "Hide" : "Show"} ${n} earlier`;

  // Takes away what makes item a thread row's head (its list of others included).
  function unthread(item) {
    item.classList.remove("thread-head");
    const parts = [":scope > .note-main > .note-meta > [data-thread-count]",
                   ":scope > .note-main > [data-thread-toggle]",
                   ":scope > .note-actions > [data-thread-read]", ":scope > .thread-items"];
    for (const part of item.querySelectorAll(parts.join(", "))) part.remove();
  }

  // Makes head the row of its thread with the others (newest first) under it, as
  // templates/inbox/index.html renders one: the count, the toggle (open or not), the
  // thread's Mark read form while any is unread; one item alone is an ordinary row.
  function threadRow(head, others, csrf, open = false) {
    for (const item of [head, ...others]) unthread(item);
    if (!others.length) return head;
    const count = 1 + others.length;
    const unread = [head, ...others].filter((item) => item.classList.contains("is-unread")).length;
    head.classList.add("thread-head");
    const meta = head.querySelector(":scope > .note-main > .note-meta");
    meta.insertBefore(
      el("span", { class: "tag tag-thread", "data-thread-count": "" },
         `${count} in thread${unread ? ` · ${unread} unread` : ""}`),
      meta.querySelector(":scope > .visually-hidden, :scope > time"));
    const listId = `thread-${head.dataset.id}`;
    head.querySelector(":scope > .note-main").append(
      el("button", { class: "thread-toggle", type: "button", "aria-expanded": String(open),
                     "aria-controls": listId, "data-thread-toggle": "" },
         toggleLabel(open, count - 1)));
    if (unread && csrf) {
      const title = head.querySelector(":scope > .note-main > .note-title").textContent.trim();
      const form = action(csrf, "/inbox/thread/read", { thread: head.dataset.thread, next: "/inbox" },
                          `Mark the thread of “${title}” read`, ICON_READ);
      form.setAttribute("data-thread-read", "");
      form.querySelector("button").title = "Mark thread read";
      head.querySelector(":scope > .note-actions").prepend(form);
    }
    const items = el("ol", { class: "thread-items", id: listId,
                             "aria-label": "Earlier in this thread" }, ...others);
    items.hidden = !open;
    head.append(items);
    return head;
  }

  return { render, el, windowTime, chip, threadRow, toggleLabel };
})();
