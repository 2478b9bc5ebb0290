// The knowledge page: the latest window's answer KPIs, low-rated documents, and the versions
// published on kb-changes against the index_version the latest answer reported.
"use strict";

function ms(x) {
  return x === null || x === undefined ? "–" : `${Math.round(x)} ms`;
}

function satisfactionChart(windows) {
  const svg = document.getElementById("satisfaction-chart");
  svg.replaceChildren();
  const W = 800, H = 120, pad = 20;
  if (!windows.length) { svg.append(el("svg:text", { x: 10, y: 20 }, "no answer-kpis window yet")); return; }
  const max = Math.max(...windows.map((w) => w.answers), 1);
  const bw = (W - pad * 2) / windows.length;
  windows.forEach((w, i) => {
    // one bar of answers: rated up (green), rated down (red), not rated (grey)
    const scale = (H - pad * 2) / max;
    const up = w.satisfaction === null ? 0 : w.rated * w.satisfaction;
    let y = H - pad;
    for (const [n, fill] of [[up, COLORS.positive], [w.rated - up, COLORS.negative], [w.answers - w.rated, "#c9ced6"]]) {
      const h = n * scale;
      y -= h;
      const bar = el("svg:rect", { x: pad + i * bw + 1, y, width: Math.max(bw - 2, 1), height: h, fill });
      bar.append(el("svg:title", {}, `${time(w.window_start)}: ${w.answers} answers, ${w.rated} rated, satisfaction ${pct(w.satisfaction)}`));
      svg.append(bar);
    }
    if (windows.length <= 12 || i % Math.ceil(windows.length / 12) === 0) {
      svg.append(el("svg:text", { x: pad + i * bw + bw / 2, y: H - 6, "text-anchor": "middle" }, time(w.window_start)));
    }
  });
}

function renderKnowledge(data) {
  const k = data.latest;
  setText("kpi-window", k ? `${when(k.window_start)}–${time(k.window_end)}` : "no window yet");
  setText("kpi-answers", k ? k.answers : "–");
  setText("kpi-satisfaction", k ? pct(k.satisfaction) : "–");
  setText("kpi-rated", k ? k.rated : "–");
  setText("kpi-p50", k ? ms(k.latency_p50_ms) : "–");
  setText("kpi-p95", k ? ms(k.latency_p95_ms) : "–");
  const statuses = k ? Object.entries(k.status_counts).map(([s, n]) => ({ name: s, count: n })) : [];
  keyedList(document.getElementById("kpi-status"), statuses, (s) => s.name,
    (s) => el("li", { "data-status": s.name }, `${s.name}: ${s.count}`), "–");
  keyedList(document.getElementById("low-rated"), k ? k.low_rated_docs : [], (d) => d.doc_id,
    (d) => el("li", { "data-doc-id": d.doc_id }, `${d.doc_id}: cited by ${d.down_answers} down-rated answer${d.down_answers === 1 ? "" : "s"}`),
    "no low-rated document in this window");
  satisfactionChart(data.windows);

  const a = data.latest_answer;
  setText("index-version", a ? a.index_version : "no answer yet");
  setText("published-sum", data.published_versions_sum);
  setText("index-state", a === null ? "no answer read yet: ask a question to see which versions it used" :
    data.index_caught_up ? "the latest answer was given from an index that had applied every change published"
      : "changes published since the index the latest answer used: waiting to be applied, or no question since");
  keyedList(document.getElementById("documents"), data.documents, (d) => d.doc_id, (d) => {
    const tr = el("tr", { "data-doc-id": d.doc_id });
    for (const cell of [d.doc_id, d.title || "", String(d.version), d.op || "", d.ts ? when(d.ts) : ""]) tr.append(el("td", {}, cell));
    return tr;
  }, "no kb-changes record yet");
}

poll("knowledge", "/api/knowledge", renderKnowledge);
