// The devices panel: turn on browser notifications (web push) and mark this browser.
// Subscribes through the service worker at /sw.js with the server's VAPID key and
// posts the subscription to the server; removing this browser also unsubscribes it.
(() => {
  "use strict";
  const panel = document.querySelector("[data-push-panel]");
  if (!panel) return;
  const vapidKey = panel.dataset.vapidKey;
  const button = panel.querySelector("[data-push-enable]");
  const status = panel.querySelector("[data-push-status]");
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  const say = (text, kind = "") => {
    if (!status) return;
    status.textContent = text;
    status.dataset.kind = kind;
  };

  const supported = "serviceWorker" in navigator && "PushManager" in window &&
    "Notification" in window && window.isSecureContext;

  function keyBytes(base64url) {
    const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4))
      .replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  }

  function sameKey(subscription) {
    const used = subscription.options && subscription.options.applicationServerKey;
    if (!used) return true;
    const wanted = keyBytes(vapidKey);
    const got = new Uint8Array(used);
    return got.length === wanted.length && got.every((b, i) => b === wanted[i]);
  }

  // The server's device id: "wp_" and 24 hex digits of the endpoint's SHA-256.
  async function deviceId(endpoint) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(endpoint));
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0"));
    return "wp_" + hex.join("").slice(0, 24);
  }

  async function currentSubscription() {
    const registration = await navigator.serviceWorker.getRegistration("/");
    return registration ? registration.pushManager.getSubscription() : null;
  }

  async function postSubscription(subscription) {
    const response = await fetch(panel.dataset.registerUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf,
                "X-Requested-With": "fetch"},
      body: JSON.stringify(subscription.toJSON()),
    });
    if (!response.ok) {
      let message = `the server answered ${response.status}`;
      try { message = (await response.json()).error.message; } catch { /* not JSON */ }
      throw new Error(message);
    }
    return response.json();
  }

  // A browser whose push service cannot be reached may never settle subscribe().
  function withTimeout(promise, seconds, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(what)), seconds * 1000);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  async function enable() {
    button.disabled = true;
    say("Waiting for your permission…");
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        say(permission === "denied"
          ? "Notifications are blocked for this site. Allow them in the browser's site settings, then try again."
          : "Notifications were not allowed.", "error");
        return;
      }
      say("Turning on…");
      await navigator.serviceWorker.register("/sw.js", {scope: "/"});
      const registration = await navigator.serviceWorker.ready;
      let subscription = await registration.pushManager.getSubscription();
      if (subscription && !sameKey(subscription)) {
        await subscription.unsubscribe();  // made for another server key: useless now
        subscription = null;
      }
      if (!subscription) {
        subscription = await withTimeout(registration.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: keyBytes(vapidKey)}), 30,
          "the browser's push service did not answer; try again later");
      }
      await postSubscription(subscription);
      say("Browser notifications are on.", "ok");
      window.location.reload();
    } catch (error) {
      say(`Could not turn on browser notifications: ${error.message}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  async function showState() {
    let row = null;
    try {
      const subscription = await currentSubscription();
      if (subscription && crypto.subtle) {
        row = panel.querySelector(`[data-device-id="${await deviceId(subscription.endpoint)}"]`);
      }
    } catch { /* no service worker yet */ }
    if (row) {
      row.dataset.thisBrowser = "true";
      row.querySelector("[data-this-browser]").hidden = false;
    }
    if (!button) return;
    if (!supported) {
      say("This browser cannot show push notifications from this site" +
        (window.isSecureContext ? "." : " (it needs https)."));
      return;
    }
    if (Notification.permission === "denied") {
      say("Notifications are blocked for this site. Allow them in the browser's site settings, then reload.", "error");
      return;
    }
    if (row) {
      say("On for this browser.", "ok");
      return;
    }
    button.hidden = false;
  }

  if (button) button.addEventListener("click", enable);

  // Removing this browser from the list also ends its subscription.
  panel.addEventListener("submit", async (event) => {
    const form = event.target.closest("[data-remove-device]");
    const row = form && form.closest("[data-device-id]");
    if (!row || row.dataset.thisBrowser !== "true") return;
    event.preventDefault();
    try {
      const subscription = await currentSubscription();
      if (subscription) await subscription.unsubscribe();
    } catch { /* the server forgets the device either way */ }
    form.submit();
  });

  showState();
})();
