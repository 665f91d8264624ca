// Broadcast compose form: a live preview of the item every inbox will show, built by
// static/note.js exactly as the inbox builds it (text through textContent only).
(() => {
  "use strict";

  const form = document.querySelector("[data-compose]");
  const preview = document.querySelector("[data-preview]");
  if (!form || !preview || !window.NotifierNote) return;
  const list = preview.querySelector("[data-preview-list]");
  const when = preview.querySelector("[data-preview-when]");
  const submit = form.querySelector("[data-compose-submit]");
  const optional = form.querySelector("[data-window-optional]");
  const value = (name) => form.elements[name].value;
  const format = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short",
  });

  // A datetime-local value (the browser's zone) as a UTC ISO string, or null.
  function iso(local) {
    if (!local) return null;
    const moment = new Date(local);
    return Number.isNaN(moment.getTime()) ? null : moment.toISOString();
  }

  function update() {
    const title = value("title");
    const note = {
      id: "preview", source: "broadcast", read: false, type: value("type"),
      title: title.trim() ? title : "Your title", body: value("body"),
      priority: value("priority"), link: value("link").trim(),
      created_at: new Date().toISOString(),
      starts_at: iso(value("starts_at")), ends_at: iso(value("ends_at")),
    };
    const item = window.NotifierNote.render(note, null);
    if (!title.trim()) item.querySelector(".note-title").classList.add("is-placeholder");
    list.replaceChildren(item);

    const sendAt = iso(value("send_at"));
    const expiresAt = iso(value("expires_at")) || (note.type === "maintenance" && note.ends_at);
    const parts = [sendAt ? `Goes out ${format.format(new Date(sendAt))}.`
      : "Goes out as soon as you send it."];
    if (expiresAt) parts.push(`Leaves inboxes ${format.format(new Date(expiresAt))}.`);
    when.textContent = parts.join(" ");
    submit.textContent = sendAt ? "Schedule broadcast" : "Send to everyone";
    if (optional) optional.textContent = note.type === "maintenance" ? "(required)" : "(optional)";
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  preview.hidden = false;
  update();
})();
