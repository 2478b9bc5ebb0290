// streamwise feedback dashboard: polls /api/summary and draws it with plain SVG (no CDN: offline).
"use strict";

const REFRESH_MS = 3000;
const COLORS = { positive: "#2e9e5b", neutral: "#9aa4b1", negative: "#d64545" };
const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function time(iso) {
  return new Date(iso).toISOString().slice(11, 16);
}

function sentimentChart(windows) {
  const svg = document.getElementById("sentiment-chart");
  svg.replaceChildren();
  const W = 800, H = 200, pad = 24;
  if (!windows.length) { svg.append(el("svg:text", { x: 10, y: 20 }, "no closed window yet (windows close on event time)")); return; }
  const max = Math.max(...windows.map((w) => w.count), 1);
  const bw = (W - pad * 2) / windows.length;
  windows.forEach((w, i) => {
    let y = H - pad;
    for (const s of ["negative", "neutral", "positive"]) {
      const n = w.sentiment_counts[s] || 0;
      const h = ((H - pad * 2) * n) / max;
      y -= h;
      const rect = el("svg:rect", { x: pad + i * bw + 1, y, width: Math.max(bw - 2, 1), height: h, fill: COLORS[s] });
      rect.append(el("svg:title", {}, `${time(w.window_start)} ${s}: ${n}`));
      svg.append(rect);
    }
    if (windows.length <= 12 || i % Math.ceil(windows.length / 12) === 0) {
      svg.append(el("svg:text", { x: pad + i * bw + bw / 2, y: H - 8, "text-anchor": "middle" }, time(w.window_start)));
    }
  });
  svg.append(el("svg:text", { x: 2, y: pad }, String(max)));
}

function ratingChart(windows) {
  const svg = document.getElementById("rating-chart");
  svg.replaceChildren();
  const W = 800, H = 140, pad = 24;
  const rated = windows.map((w, i) => [i, w.avg_rating]).filter(([, r]) => r !== null && r !== undefined);
  for (const r of [1, 3, 5]) {
    const y = H - pad - ((H - pad * 2) * (r - 1)) / 4;
    svg.append(el("svg:line", { x1: pad, x2: W - pad, y1: y, y2: y, stroke: "#e5e7eb" }));
    svg.append(el("svg:text", { x: 4, y: y + 3 }, String(r)));
  }
  if (!rated.length) return;
  const step = (W - pad * 2) / Math.max(windows.length - 1, 1);
  const points = rated.map(([i, r]) => [pad + i * step, H - pad - ((H - pad * 2) * (r - 1)) / 4]);
  svg.append(el("svg:polyline", { points: points.map((p) => p.join(",")).join(" "), fill: "none", stroke: "#5b7bd5", "stroke-width": 2 }));
  points.forEach(([x, y], k) => {
    const dot = el("svg:circle", { cx: x, cy: y, r: 3, fill: "#5b7bd5" });
    dot.append(el("svg:title", {}, `${time(windows[rated[k][0]].window_start)}: ${rated[k][1]}`));
    svg.append(dot);
  });
}

// Windows not closed yet: figures counted from the enriched items so far, never in the totals.
function openWindows(windows) {
  document.getElementById("open-count").textContent = windows.reduce((n, w) => n + w.count, 0);
  const list = document.getElementById("open-windows");
  list.replaceChildren();
  for (const w of windows) {
    const s = w.sentiment_counts;
    const howMany = `${w.count} item${w.count === 1 ? "" : "s"}`;
    list.append(el("li", { "data-window-start": w.window_start },
      `Open window ${time(w.window_start)}–${time(w.window_end)}, provisional: ${howMany} so far ` +
      `(${s.positive} positive, ${s.neutral} neutral, ${s.negative} negative); ` +
      `it closes when an item stamped ${time(w.closes_at)} or later arrives.`));
  }
}

function bars(id, rows) {
  const list = document.getElementById(id);
  list.replaceChildren();
  if (!rows.length) { list.append(el("li", { class: "empty" }, "nothing yet")); return; }
  const max = Math.max(...rows.map((r) => r.count));
  for (const row of rows) {
    const bar = el("div", { class: "bar" });
    bar.append(el("b", { style: `width:${(100 * row.count) / max}%` }), el("span", {}, row.name));
    const li = el("li", { "data-name": row.name });
    li.append(bar, el("span", { class: "n" }, String(row.count)));
    list.append(li);
  }
}

function alerts(rows) {
  const list = document.getElementById("alerts");
  list.replaceChildren();
  if (!rows.length) { list.append(el("li", { class: "empty" }, "no alerts")); return; }
  for (const a of rows) {
    const li = el("li", { "data-alert-id": a.alert_id });
    li.append(
      el("div", { class: "kind" }, `${a.kind.replace("_", " ")} · ${a.category}`),
      el("div", {}, a.reasons.join("; ")),
      el("div", { class: "when" }, `${time(a.window_start)}–${time(a.window_end)} · e.g. ${a.examples.slice(0, 3).join(", ")}`),
    );
    list.append(li);
  }
}

function items(id, rows, emptyText) {
  const list = document.getElementById(id);
  list.replaceChildren();
  if (!rows.length) { list.append(el("li", { class: "empty" }, emptyText)); return; }
  for (const item of rows) {
    const li = el("li");
    const tag = el("span", { class: "tag", style: `background:${COLORS[item.sentiment] || "#888"}` }, item.sentiment || "?");
    li.append(tag, el("span", {}, item.text));
    const score = item.score !== undefined ? ` · similarity ${item.score}` : "";
    li.append(el("div", { class: "meta" }, `${item.category} · ${item.source} · ${item.feedback_id}${score}`));
    list.append(li);
  }
}

function render(summary) {
  const t = summary.totals;
  document.getElementById("total-count").textContent = t.count;
  document.getElementById("total-rating").textContent = t.avg_rating ?? "–";
  document.getElementById("total-negative").textContent = t.sentiment_counts.negative ?? 0;
  document.getElementById("window-count").textContent = summary.windows.length;
  openWindows(summary.open_windows);
  sentimentChart(summary.windows);
  ratingChart(summary.windows);
  bars("categories", summary.top_categories);
  bars("phrases", summary.top_key_phrases);
  bars("sources", summary.sources);
  alerts(summary.alerts);
  items("latest", summary.latest, "no feedback yet");
}

// With a tokens file the API needs a staff token: open the page as /#token=<token>. The
// fragment never reaches the server or its logs; the token stays in this tab's storage.
const fromFragment = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromFragment) {
  sessionStorage.setItem("streamwise-token", fromFragment);
  history.replaceState(null, "", location.pathname);
}
const token = sessionStorage.getItem("streamwise-token");
const authorization = token ? { Authorization: `Bearer ${token}` } : {};

async function api(path) {
  const response = await fetch(path, { cache: "no-store", headers: authorization });
  if (response.status === 401 || response.status === 403) {
    const live = document.getElementById("live");
    live.className = "live stale";
    live.textContent = "needs a staff token: open /#token=<token>";
    throw new Error((await response.json()).error);
  }
  return response.json();
}

async function refresh() {
  const live = document.getElementById("live");
  try {
    const summary = await api("/api/summary");
    render(summary);
    const reachable = summary.broker_reachable !== false;
    live.className = reachable ? "live" : "live stale";
    live.textContent = reachable ? "live" : "broker unreachable: figures may be stale";
    document.body.dataset.loaded = "true";
  } catch (err) {
    if (!live.textContent.startsWith("needs")) {
      live.className = "live stale";
      live.textContent = "reconnecting";
    }
  }
}

document.getElementById("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = document.getElementById("search-query").value.trim();
  if (!q) return;
  const result = await api(`/api/search?q=${encodeURIComponent(q)}`);
  items("search-results", result.hits, "no similar feedback");
});

refresh();
setInterval(refresh, REFRESH_MS);
