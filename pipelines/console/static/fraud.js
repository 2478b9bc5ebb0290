// The fraud page: the triaged alerts as a queue with verdict buttons, and each rule's precision.
"use strict";

function verdictLine(verdict) {
  const by = verdict.analyst ? ` by ${verdict.analyst}` : "";
  const note = verdict.note ? ` · “${verdict.note}”` : "";
  return `verdict: ${verdict.verdict}${by} at ${when(verdict.ts)}${note}`;
}

function alertItem(alert) {
  const li = el("li", { "data-alert-id": alert.alert_id, class: alert.verdict ? "decided" : "" });
  const head = el("div", { class: "kind" }, `${alert.rule.replaceAll("_", " ")} · ${alert.severity} · card ${alert.card_id}`);
  head.append(el("span", { class: "when" }, ` ${when(alert.ts)} · ${alert.alert_id}`));
  li.append(head, el("div", { class: "reasons" }, alert.reasons.join("; ")));
  li.append(el("div", { class: "note" }, alert.note));
  const judged = new Map((alert.similar_verdicts || []).map((s) => [s.alert_id, s.verdict]));
  if ((alert.similar_alert_ids || []).length) {
    const similar = alert.similar_alert_ids.map((id) => `${id} (${judged.get(id) || "not judged"})`);
    li.append(el("div", { class: "similar" }, `similar cases: ${similar.join(", ")}`));
  }
  const status = el("div", { class: "verdict-given" }, alert.verdict ? verdictLine(alert.verdict) : "no verdict yet");
  const note = el("input", { class: "verdict-note", type: "text", placeholder: "note (optional)" });
  const actions = el("div", { class: "actions" });
  for (const verdict of ["fraud", "legitimate"]) {
    const button = el("button", { class: `verdict ${verdict}`, "data-verdict": verdict }, verdict);
    button.addEventListener("click", async () => {
      const body = { alert_id: alert.alert_id, verdict };
      if (note.value.trim()) body.note = note.value.trim();
      const [, message] = await post("/api/fraud/verdicts", body);
      status.textContent = message;
    });
    actions.append(button);
  }
  actions.append(note);
  li.append(status, actions);
  return li;
}

function precisionChart(windows) {
  const svg = el("svg:svg", { viewBox: "0 0 400 90", class: "precision-chart" });
  const W = 400, H = 90, pad = 14;
  for (const p of [0, 0.5, 1]) {
    const y = H - pad - (H - pad * 2) * p;
    svg.append(el("svg:line", { x1: pad, x2: W - 4, y1: y, y2: y, stroke: "#e5e7eb" }));
    svg.append(el("svg:text", { x: 0, y: y + 3 }, String(p)));
  }
  const judged = windows.map((w, i) => [i, w]).filter(([, w]) => w.precision !== null && w.precision !== undefined);
  if (!judged.length) { svg.append(el("svg:text", { x: 30, y: 40 }, "no window judged yet")); return svg; }
  const step = (W - pad * 2) / Math.max(windows.length - 1, 1);
  const points = judged.map(([i, w]) => [pad + i * step, H - pad - (H - pad * 2) * w.precision]);
  svg.append(el("svg:polyline", { points: points.map((p) => p.join(",")).join(" "), fill: "none", stroke: "#5b7bd5", "stroke-width": 2 }));
  points.forEach(([x, y], k) => {
    const w = judged[k][1];
    const dot = el("svg:circle", { cx: x, cy: y, r: 3, fill: "#5b7bd5" });
    dot.append(el("svg:title", {}, `${when(w.window_start)}: ${pct(w.precision)} of ${w.verdicts} judged`));
    svg.append(dot);
  });
  return svg;
}

function ruleCard(rule) {
  const li = el("li", { "data-rule": rule.rule });
  const c = rule.cumulative || {};
  li.append(el("div", { class: "kind" }, rule.rule.replaceAll("_", " ")));
  const big = el("div", { class: "precision" });
  big.append(el("span", { class: "value", "data-precision": c.precision ?? "" }, pct(c.precision)), el("small", {}, " precision, all time"));
  li.append(big, el("div", { class: "when" },
    `${c.confirmed ?? 0} confirmed of ${c.verdicts ?? 0} judged · ${c.alerts ?? 0} alerts`));
  const severities = Object.entries(rule.by_severity || {});
  if (severities.length) {
    li.append(el("div", { class: "when" }, severities.map(([s, q]) => `${s}: ${pct(q.precision)} (${q.verdicts}/${q.alerts})`).join(" · ")));
  }
  li.append(precisionChart(rule.windows));
  return li;
}

function renderFraud(data) {
  setText("fraud-undecided", data.undecided);
  setText("fraud-queued", data.queue.length);
  keyedList(document.getElementById("fraud-queue"), data.queue, (a) => a.alert_id, alertItem, "no triaged alert yet");
  keyedList(document.getElementById("fraud-quality"), data.quality, (r) => r.rule, ruleCard, "no fraud-quality record yet");
}

poll("fraud", "/api/fraud", renderFraud);
