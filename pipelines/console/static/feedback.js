// The feedback page: polls /api/summary and draws it with plain SVG (no CDN: offline), with
// the classifier's version and accuracy and correct-this-label controls on the latest items.
"use strict";

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

function itemNode(item, labels) {
  const li = el("li", { "data-feedback-id": item.feedback_id });
  const tag = el("span", { class: "tag", style: `background:${COLORS[item.sentiment] || "#888"}` }, item.sentiment || "?");
  li.append(tag, el("span", {}, item.text));
  const score = item.score !== undefined ? ` · similarity ${item.score}` : "";
  li.append(el("div", { class: "meta" }, `${item.category} · ${item.source} · ${item.feedback_id}${score}`));
  if (labels) li.append(labelControls(item, labels[item.feedback_id]));
  return li;
}

// Correct this label: a sentiment and/or a category, published to feedback-labels.
function labelControls(item, given) {
  const box = el("div", { class: "label" });
  const said = given ? `labelled ${[given.sentiment, given.category].filter(Boolean).join(" · ")}` +
    (given.labeller ? ` by ${given.labeller}` : "") : "";
  const status = el("span", { class: "label-given" }, said);
  const open = el("button", { class: "correct-label" }, "correct label");
  const form = el("form", { class: "label-form", hidden: "" });
  const sentiment = el("select", { name: "sentiment" });
  sentiment.append(el("option", { value: "" }, "sentiment…"));
  for (const s of ["positive", "neutral", "negative"]) sentiment.append(el("option", { value: s }, s));
  const category = el("input", { name: "category", type: "text", placeholder: `category (now ${item.category})` });
  form.append(sentiment, category, el("button", { class: "save-label", type: "submit" }, "save label"));
  open.addEventListener("click", () => { form.hidden = !form.hidden; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { feedback_id: item.feedback_id };
    if (sentiment.value) body.sentiment = sentiment.value;
    if (category.value.trim()) body.category = category.value.trim();
    const [ok, message] = await post("/api/feedback/labels", body);
    status.textContent = message;
    if (ok) form.hidden = true;
  });
  box.append(open, status, form);
  return box;
}

function items(id, rows, emptyText, labels) {
  const list = document.getElementById(id);
  if (!labels) {
    list.replaceChildren();
    if (!rows.length) { list.append(el("li", { class: "empty" }, emptyText)); return; }
    for (const item of rows) list.append(itemNode(item));
    return;
  }
  const labelled = rows.map((item) => ({ item, label: labels[item.feedback_id] || null }));
  keyedList(list, labelled, (r) => r.item.feedback_id, (r) => itemNode(r.item, labels), emptyText);
}

function classifier(state) {
  const c = state.current;
  setText("classifier-version", c ? c.version : "none shipped yet");
  setText("classifier-accuracy", c ? pct(c.accuracy) : "–");
  setText("classifier-detail", c ? `model ${c.model} · effective from ${when(c.effective_from)} · ` +
    `measured on ${c.held_back} held-back of ${c.labels} labels · previous ${pct(c.previous_accuracy)}` +
    (c.category_accuracy !== null && c.category_accuracy !== undefined ? ` · category ${pct(c.category_accuracy)}` : "") : "");
  const u = state.unshipped;
  setText("classifier-unshipped", u ? `Latest refit ${u.version} (${when(u.ts)}) was not shipped: ` +
    `accuracy ${pct(u.accuracy)} against ${pct(u.previous_accuracy)} before, on ${u.held_back} held-back labels.` : "");
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
  items("latest", summary.latest, "no feedback yet", summary.classifier.labels);
  classifier(summary.classifier);
}

document.getElementById("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = document.getElementById("search-query").value.trim();
  if (!q) return;
  const result = await api(`/api/search?q=${encodeURIComponent(q)}`);
  items("search-results", result.hits, "no similar feedback");
});

poll("feedback", "/api/summary", render);
