// Service worker: shows web push notifications, also when no notifier tab is open.
// Each push carries JSON from notifier.channels.webpush.payload: title, body, url,
// tag, priority, count, id, type, created_at. Served at /sw.js (scope: the site).
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
    data: {url: data.url || "/inbox", id: data.id || null},
  }));
});

// A click opens the notification's link (or the inbox); an open notifier tab is reused
// for links on this site.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/inbox",
                         self.location.origin);
  if (target.protocol !== "https:" && target.protocol !== "http:") return;
  event.waitUntil((async () => {
    if (target.origin === self.location.origin) {
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
