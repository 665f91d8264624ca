// Settings page: the time zone defaults to the browser's, and the default row of the
// channel matrix carries along the switches that follow it. The form works without
// this script (the server applies the same rule when it saves).
(() => {
  "use strict";

  const zone = document.querySelector("select[data-zone-unset]");
  if (zone) {
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (browserZone && [...zone.options].some((o) => o.value === browserZone)) {
      zone.value = browserZone;
      const note = document.querySelector("[data-zone-note]");
      if (note) note.hidden = false;
    }
  }

  const matrix = document.querySelector("[data-matrix]");
  if (!matrix) return;
  const defaultRow = matrix.querySelector("[data-default-row]");
  const touched = new WeakSet();
  matrix.addEventListener("change", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement)) return;
    if (!defaultRow.contains(box)) { touched.add(box); return; }
    // A switch that showed the default's old value, and that the user left alone, follows.
    // Locked switches, and those of kinds with defaults of their own, do not follow it.
    for (const other of matrix.querySelectorAll(`input[data-channel="${box.dataset.channel}"]`)) {
      if (other !== box && !defaultRow.contains(other) && !touched.has(other)
          && !other.disabled && !other.closest("[data-own-defaults]")
          && other.checked !== box.checked) {
        other.checked = box.checked;
      }
    }
  });
})();
