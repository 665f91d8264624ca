// Admin overview, live: GET /admin/events (Server-Sent Events) brings a `stats` event
// every interval and a `presence` event when who is online changes. The page is
// complete without this script; with it the figures follow, and the chart keeps the
// last minutes of rates here in the browser (the server keeps no history).
(() => {
  "use strict";

  const root = document.querySelector("[data-overview]");
  if (!root) return;
  const pill = document.querySelector("[data-admin-live]");
  const windowMs = (Number(root.dataset.chartSeconds) || 300) * 1000;
  const history = []; // {at, sent_per_s, delivered_per_s}, oldest first
  const number = new Intl.NumberFormat("en-US");

  // Mirrors notifier.admin_stats.format_rate.
  function formatRate(rate) {
    if (rate === null || rate === undefined) return "—";
    return rate >= 100 ? number.format(Math.round(rate)) : rate.toFixed(1);
  }

  // Mirrors notifier.admin_stats.format_bytes.
  function formatBytes(size) {
    if (size === null || size === undefined) return "—";
    let value = size;
    for (const unit of ["B", "KiB", "MiB", "GiB"]) {
      if (value < 1024 || unit === "GiB") {
        return unit === "B" ? `${Math.floor(value)} B` : `${value.toFixed(1)} ${unit}`;
      }
      value /= 1024;
    }
    return "—";
  }

  // Mirrors notifier.admin_stats.online_for.
  function onlineFor(since) {
    const seconds = (Date.now() - Date.parse(since)) / 1000;
    if (seconds < 60) return "just now";
    if (seconds < 3600) return `for ${Math.floor(seconds / 60)} min`;
    if (seconds < 86400) return `for ${Math.floor(seconds / 3600)} h`;
    return `for ${Math.floor(seconds / 86400)} d`;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    for (const child of children) node.append(child);
    return node;
  }

  function setStat(name, text) {
    const node = root.querySelector(`[data-stat="${name}"]`);
    if (node) node.textContent = text;
  }

  const topbarDot = document.querySelector("[data-live-status]");

  function setLive(state, text) {
    if (topbarDot) topbarDot.dataset.state = state; // the header's dot follows this stream
    if (!pill) return;
    pill.dataset.state = state;
    pill.textContent = text;
  }

  function showWorkers(workers) {
    const rows = workers.map((w) => el("tr", {},
      el("th", { scope: "row" }, el("span", { class: "mono" }, `${w.host}:${w.pid}`)),
      el("td", { "data-label": "Streams" }, number.format(w.streams)),
      el("td", { "data-label": "Users" }, number.format(w.users)),
      el("td", { "data-label": "Sent / s" }, formatRate(w.sent_per_s)),
      el("td", { "data-label": "Delivered / s" }, formatRate(w.delivered_per_s))));
    root.querySelector("[data-workers]").replaceChildren(...rows);
    root.querySelector("[data-no-workers]").hidden = workers.length > 0;
  }

  // 1, 2, 5, 10, 20, 50 ...: the smallest at or above value (at least 1).
  function niceCeiling(value) {
    if (!(value > 1)) return 1;
    const magnitude = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 5, 10]) {
      if (step * magnitude >= value) return step * magnitude;
    }
    return 10 * magnitude;
  }

  function drawChart() {
    const svg = root.querySelector("[data-chart-svg]");
    const latest = history.length ? history[history.length - 1].at : 0;
    const top = niceCeiling(Math.max(0, ...history.flatMap((p) => [p.sent_per_s,
                                                                  p.delivered_per_s])));
    const width = windowMs / 1000;
    for (const line of svg.querySelectorAll("[data-series]")) {
      const series = line.dataset.series;
      const points = history.map((p) => {
        const x = width - (latest - p.at) / 1000;
        const y = 98 - (p[series] / top) * 96; // 2 units of room above and below
        return `${x.toFixed(2)},${y.toFixed(2)}`;
      });
      line.setAttribute("points", points.join(" "));
    }
    const label = (v) => (Number.isInteger(v) ? number.format(v) : v.toFixed(1));
    root.querySelector("[data-chart-max]").textContent = label(top);
    root.querySelector("[data-chart-mid]").textContent = label(top / 2);
    root.querySelector("[data-chart-empty]").hidden = history.length >= 2;
  }

  function onStats(stats) {
    setStat("streams", number.format(stats.streams));
    setStat("sent_per_s", formatRate(stats.sent_per_s));
    setStat("delivered_per_s", formatRate(stats.delivered_per_s));
    setStat("used_memory", formatBytes(stats.redis.used_memory));
    setStat("maxmemory", stats.redis.maxmemory ? `of ${formatBytes(stats.redis.maxmemory)}`
      : "no limit set");
    setStat("connected_clients", stats.redis.connected_clients === null ? "—"
      : number.format(stats.redis.connected_clients));
    showWorkers(stats.workers);
    if (stats.sent_per_s !== null && stats.delivered_per_s !== null) {
      history.push({ at: stats.at, sent_per_s: stats.sent_per_s,
                     delivered_per_s: stats.delivered_per_s });
    }
    while (history.length && history[0].at < stats.at - windowMs) history.shift();
    drawChart();
  }

  function onPresence(presence) {
    setStat("online", number.format(presence.count));
    const shown = presence.users.length;
    let summary = `${presence.count} online user${presence.count === 1 ? "" : "s"}, by user id.`;
    if (presence.count === 0) summary = "Nobody is online.";
    else if (presence.count > shown) {
      summary = `The first ${shown} of ${number.format(presence.count)} online users, by user id.`;
    }
    root.querySelector("[data-presence-summary]").textContent = summary;
    const items = presence.users.map((user) => {
      const item = el("li", {}, el("span", { class: "presence-dot", "aria-hidden": "true" }),
                      el("span", { class: "mono presence-user" }, user.user_id));
      if (user.since) {
        item.append(el("time", { class: "muted-small", datetime: user.since,
                                 title: `Online since ${new Date(user.since).toLocaleString()}`,
                                 "data-since": "" }, onlineFor(user.since)));
      }
      return item;
    });
    root.querySelector("[data-presence-list]").replaceChildren(...items);
  }

  setInterval(() => {
    for (const time of root.querySelectorAll("time[data-since]")) {
      time.textContent = onlineFor(time.getAttribute("datetime"));
    }
  }, 30000);

  const source = new EventSource(root.dataset.eventsUrl);
  source.addEventListener("open", () => setLive("live", "Live"));
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      setLive("off", "Stopped: reload the page");
    } else {
      setLive("reconnecting", "Reconnecting…");
    }
  });
  source.addEventListener("stats", (event) => onStats(JSON.parse(event.data)));
  source.addEventListener("presence", (event) => onPresence(JSON.parse(event.data)));
})();
