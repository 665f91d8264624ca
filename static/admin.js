// Admin console helpers, loaded from /static because the CSP allows no inline script.
// Copy buttons: <button data-copy="ID" hidden> copies the value (or text) of element ID
// and reports into [data-copy-status="ID"]. Buttons stay hidden without this script.
// Times: <time data-local> is rendered in UTC and shown here in the admin's own zone.
// Time inputs: each <input type="datetime-local" data-utc-offset> has a hidden
// <name>_offset that gets the UTC offset, in minutes, of the time entered (the
// server reads the time as UTC when it is empty, as the form then says).
(() => {
  "use strict";

  function report(id, message) {
    const status = document.querySelector(`[data-copy-status="${CSS.escape(id)}"]`);
    if (status) status.textContent = message;
  }

  async function copy(source) {
    const text = "value" in source ? source.value : source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
    // Plain http on another host has no Clipboard API: fall back to a selection copy.
    source.focus();
    if (source.select) source.select();
    return document.execCommand("copy");
  }

  for (const button of document.querySelectorAll("[data-copy]")) {
    const id = button.dataset.copy;
    const source = document.getElementById(id);
    if (!source) continue;
    button.hidden = false;
    const label = button.querySelector("span") || button;
    const idle = label.textContent;
    button.addEventListener("click", async () => {
      let copied = false;
      try {
        copied = await copy(source);
      } catch (error) {
        copied = false;
      }
      if (copied) {
        label.textContent = "Copied";
        report(id, "Copied to the clipboard.");
        setTimeout(() => { label.textContent = idle; }, 2000);
      } else {
        source.focus();
        if (source.select) source.select();
        report(id, "Could not copy: the key is selected, press Ctrl+C (⌘C on a Mac).");
      }
    });
  }

  for (const input of document.querySelectorAll("[data-select-on-focus]")) {
    input.addEventListener("focus", () => input.select());
  }

  const localFormat = new Intl.DateTimeFormat(undefined, {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short",
  });
  for (const time of document.querySelectorAll("time[data-local], time[data-local-title]")) {
    const moment = new Date(time.getAttribute("datetime"));
    if (Number.isNaN(moment.getTime())) continue;
    if (time.hasAttribute("data-local")) {
      time.title = time.textContent;
      time.textContent = localFormat.format(moment);
    } else {
      time.title = localFormat.format(moment);
    }
  }

  // Minutes east of UTC at the local time `value` ("2026-11-21T14:00"), DST included.
  function utcOffset(value) {
    const moment = new Date(value); // a date-time without an offset is local time
    return Number.isNaN(moment.getTime()) ? "" : String(-moment.getTimezoneOffset());
  }

  function offsetLabel(minutes) {
    const sign = minutes < 0 ? "−" : "+";
    const abs = Math.abs(minutes);
    const pad = (v) => String(v).padStart(2, "0");
    return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  }

  for (const form of document.querySelectorAll("form")) {
    const inputs = [...form.querySelectorAll("input[data-utc-offset]")];
    if (!inputs.length) continue;
    const fill = () => {
      for (const input of inputs) {
        const hidden = form.elements[`${input.name}_offset`];
        if (hidden) hidden.value = input.value ? utcOffset(input.value) : "";
      }
    };
    form.addEventListener("input", fill);
    form.addEventListener("submit", fill);
    fill();
    const note = form.querySelector("[data-tz-note]");
    if (note) {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";
      const strong = document.createElement("strong");
      strong.textContent = zone;
      note.replaceChildren("Times are in your browser's time zone, ", strong,
                           ` (now ${offsetLabel(-new Date().getTimezoneOffset())}).`);
    }
  }

  // A server-side error goes once its field is edited (the server checks again on send).
  document.addEventListener("input", (event) => {
    const field = event.target.closest?.(".field-error");
    if (!field) return;
    field.classList.remove("field-error");
    for (const message of field.querySelectorAll(".field-message")) message.hidden = true;
    event.target.removeAttribute("aria-invalid");
  });
})();
