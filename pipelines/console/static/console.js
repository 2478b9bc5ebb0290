// streamwise operations console: what the three pages share (tabs, token, API, drawing helpers).
// Plain scripts, no build step and no CDN: the console runs air-gapped.
"use strict";

const REFRESH_MS = 3000;
const COLORS = { positive: "#2e9e5b", neutral: "#9aa4b1", negative: "#d64545" };
const SVG_NS = "http://www.w3.org/2000/svg";
const PAGES = ["fraud", "feedback", "knowledge"];

function el(tag, attrs = {}, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function time(iso) {
  return new Date(iso).toISOString().slice(11, 16);
}

function when(iso) {
  return new Date(iso).toISOString().slice(0, 16).replace("T", " ");
}

function pct(x) {
  return x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)}%`;
}

function setText(id, text) {
  document.getElementById(id).textContent = text;
}

// Redraw a list without losing what the user is doing in it: a row whose data did not
// change keeps its node (an open form, a typed note, a button Selenium holds).
function keyedList(list, rows, key, build, emptyText) {
  if (!rows.length) {
    const empty = el(list.tagName === "TBODY" ? "tr" : "li", { class: "empty" });
    if (list.tagName === "TBODY") empty.append(el("td", { colspan: 5 }, emptyText)); else empty.textContent = emptyText;
    list.replaceChildren(empty);
    return;
  }
  const old = new Map([...list.children].map((node) => [node.dataset.sig, node]));
  list.replaceChildren(...rows.map((row) => {
    const sig = `${key(row)}|${JSON.stringify(row)}`;
    const node = old.get(sig) || build(row);
    node.dataset.sig = sig;
    return node;
  }));
}

// With a tokens file the API needs a staff token: open the console as /#token=<token>. The
// fragment never reaches the server or its logs; the token stays in this tab's storage.
const fromFragment = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromFragment) {
  sessionStorage.setItem("streamwise-token", fromFragment);
  history.replaceState(null, "", location.pathname);
}
const token = sessionStorage.getItem("streamwise-token");
const authorization = token ? { Authorization: `Bearer ${token}` } : {};

function refusedBy(response) {
  const live = document.getElementById("live");
  live.className = "live stale";
  live.textContent = "needs a staff token: open /#token=<token>";
}

async function api(path) {
  const response = await fetch(path, { cache: "no-store", headers: authorization });
  if (response.status === 401 || response.status === 403) {
    refusedBy(response);
    throw new Error((await response.json()).error);
  }
  return response.json();
}

// POST a verdict or label; resolves to [ok, message] (the server's reason when refused).
async function post(path, body) {
  const response = await fetch(path, {
    method: "POST", cache: "no-store",
    headers: { ...authorization, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  return [response.ok, response.ok ? "sent; shown once read back from the topic" : answer.error];
}

// Poll ``path`` and draw it with ``render``; the header says whether the figures are live.
function poll(page, path, render) {
  async function refresh() {
    const live = document.getElementById("live");
    try {
      const data = await api(path);
      render(data);
      const reachable = data.broker_reachable !== false;
      live.className = reachable ? "live" : "live stale";
      live.textContent = reachable ? "live" : "broker unreachable: figures may be stale";
      document.getElementById(`page-${page}`).dataset.loaded = "true";
      if (page === "feedback") document.body.dataset.loaded = "true";
    } catch (err) {
      if (!live.textContent.startsWith("needs")) {
        live.className = "live stale";
        live.textContent = "reconnecting";
      }
    }
  }
  refresh();
  setInterval(refresh, REFRESH_MS);
}

function showPage() {
  const wanted = location.hash.slice(1);
  const page = PAGES.includes(wanted) ? wanted : "fraud";
  for (const name of PAGES) {
    document.getElementById(`page-${name}`).hidden = name !== page;
    document.getElementById(`tab-${name}`).classList.toggle("active", name === page);
  }
}
window.addEventListener("hashchange", showPage);
showPage();
