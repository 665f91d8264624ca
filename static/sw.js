// Service worker: shows web push notifications, also when no notifier tab is open.
// Each push carries JSON from notifier.channels.webpush.payload: title, body, url,
// tag, priority, count, id, type, created_at, and for a single notification its
// click link and actions (buttons). Served at /sw.js (scope: the site).
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function read(event) {
  if (!event.data) return {};
  try {
    return event.data.json();
  } catch {
    return {title: event.data.text()};
  }
}

self.addEventListener("push", (event) => {
  const data = read(event);
  const created = Date.parse(data.created_at || "");
  event.waitUntil(self.registration.showNotification(data.title || "New notification", {
    body: data.body || "",
    icon: "/static/icon-192.png",
    badge: "/static/badge-72.png",
    tag: data.tag || undefined,
    timestamp: Number.isNaN(created) ? Date.now() : created,
    requireInteraction: data.priority === "urgent",
    actions: (data.actions || []).map((a) => ({action: a.action, title: a.title})),
    data: {url: data.url || "/inbox", id: data.id || null, click: data.click || null,
           actions: data.actions || []},
  }));
});

// A click opens the notification's link (or the inbox); an open notifier tab is reused
// for links on this site.
// With a click link (a single notification), the click goes through it: the server
// records the click, then redirects to the same place.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  const action = (data.actions || []).find((a) => a.action === event.action);
  const destination = new URL((action && action.url) || data.url || "/inbox",
                              self.location.origin);
  if (destination.protocol !== "https:" && destination.protocol !== "http:") return;
  let target = destination;
  if (data.click) {
    target = new URL(data.click, self.location.origin);
    target.searchParams.set("target", action ? action.action : "link");
  }
  event.waitUntil((async () => {
    if (destination.origin === self.location.origin) {
      const windows = await self.clients.matchAll({type: "window", includeUncontrolled: true});
      const open = windows.find((client) => new URL(client.url).origin === target.origin);
      if (open) {
        const focused = await open.focus();
        if (focused && "navigate" in focused) await focused.navigate(target.href);
        return;
      }
    }
    await self.clients.openWindow(target.href);
  })());
});
