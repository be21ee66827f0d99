// microlb dashboard: polls the admin API and draws the nodes, the live picks,
// the strategy comparison and the events. No dependencies.
"use strict";

const POLL_MS = 1000;
const WINDOW_S = 10;

const params = new URLSearchParams(location.search);
if (params.get("token")) sessionStorage.setItem("microlb-token", params.get("token"));
const token = sessionStorage.getItem("microlb-token");

function api(path, init) {
  init = init || {};
  init.headers = Object.assign({}, init.headers || {});
  if (token) init.headers["Authorization"] = "Bearer " + token;
  return fetch(path, init);
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "style") e.style.cssText = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

let services = [];          // last /admin/api/services payload's services
const history = [];         // [{t, totals: {nodeKey: picks}}]

function nodeKey(svc, n) { return svc.name + "/" + n.id; }
function totalPicks(n) { return Object.values(n.picks || {}).reduce((a, b) => a + b, 0); }

function healthText(n) {
  if (n.health === "ejected" && n.ejected_until) {
    return "ejected until " + new Date(n.ejected_until).toLocaleTimeString();
  }
  return n.health;
}

function renderNodes() {
  const body = document.querySelector("#nodes tbody");
  const rows = [];
  for (const svc of services) {
    for (const n of svc.nodes || []) {
      rows.push(el("tr", {"data-service": svc.name, "data-node": n.id, "data-health": n.health},
        el("td", {}, svc.name + (svc.stale ? " (stale)" : "")),
        el("td", {class: "node-id", title: n.id}, n.id),
        el("td", {}, n.address),
        el("td", {}, n.zone || ""),
        el("td", {}, n.version || ""),
        el("td", {class: "num node-weight"}, n.weight),
        el("td", {class: "health health-" + n.health}, healthText(n)),
        el("td", {class: "num"}, n.in_flight),
        el("td", {class: "num"}, n.ewma_ns ? (n.ewma_ns / 1e6).toFixed(2) : "–")));
    }
  }
  if (rows.length === 0) rows.push(el("tr", {}, el("td", {colspan: 9, class: "muted"}, "no services in the registry")));
  body.replaceChildren(...rows);
}

function barRows(entries, expected) {
  // entries: [[label, value]], expected: {label: count} or null
  const max = Math.max(1, ...entries.map(e => e[1]), ...Object.values(expected || {}));
  return entries.map(([label, value]) => {
    const track = el("div", {class: "track"}, el("div", {class: "fill", style: "width:" + (100 * value / max) + "%"}));
    let text = String(value);
    if (expected && label in expected) {
      track.append(el("div", {class: "expected", style: "left:" + (100 * expected[label] / max) + "%", title: "expected " + expected[label].toFixed(1)}));
      text += " / " + expected[label].toFixed(1);
    }
    return el("div", {class: "row", "data-label": label, "data-count": value},
      el("span", {class: "label", title: label}, label), track, el("span", {class: "value"}, text));
  });
}

function renderLive() {
  const now = history[history.length - 1];
  let base = history[0];
  for (const h of history) if (now.t - h.t >= WINDOW_S * 1000) base = h;
  const entries = [];
  for (const [k, v] of Object.entries(now.totals)) {
    const d = v - (base.totals[k] || 0);
    if (d > 0) entries.push([k, d]);
  }
  entries.sort((a, b) => a[0].localeCompare(b[0]));
  const live = document.getElementById("live");
  live.replaceChildren(...(entries.length ? barRows(entries, null) : [el("p", {class: "muted"}, "no picks in the last " + WINDOW_S + " s")]));
}

function renderEvents() {
  const all = [];
  for (const svc of services) for (const e of svc.events || []) all.push(e);
  all.sort((a, b) => new Date(b.time) - new Date(a.time));
  const items = all.slice(0, 30).map(e => el("li", {class: "ev-" + e.kind},
    new Date(e.time).toLocaleTimeString() + "  " + e.service + "  " + e.node + "  " + e.kind + (e.detail ? " (" + e.detail + ")" : "")));
  document.getElementById("events").replaceChildren(...(items.length ? items : [el("li", {class: "muted"}, "none yet")]));
}

function renderServiceChoice() {
  const sel = document.getElementById("cmp-service");
  const names = services.map(s => s.name);
  const current = sel.value;
  if (sel.options.length === names.length && names.every((n, i) => sel.options[i].value === n)) return;
  sel.replaceChildren(...names.map(n => el("option", {value: n}, n)));
  if (names.includes(current)) sel.value = current;
  else if (names.includes("greeter")) sel.value = "greeter";
}

async function poll() {
  try {
    const res = await api("/admin/api/services", {cache: "no-store"});
    if (!res.ok) throw new Error("HTTP " + res.status);
    const body = await res.json();
    services = body.services || [];
    const totals = {};
    for (const svc of services) for (const n of svc.nodes || []) totals[nodeKey(svc, n)] = totalPicks(n);
    history.push({t: Date.now(), totals});
    while (history.length > 2 && Date.now() - history[1].t > WINDOW_S * 1000) history.shift();
    renderNodes();
    renderLive();
    renderEvents();
    renderServiceChoice();
    const status = document.getElementById("status");
    status.textContent = body.error ? "registry error" : "live";
    status.className = "pill " + (body.error ? "bad" : "ok");
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    const status = document.getElementById("status");
    status.textContent = "admin API unreachable";
    status.className = "pill bad";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

function expectedCounts(serviceName, strategy, n) {
  const svc = services.find(s => s.name === serviceName);
  if (!svc) return null;
  const active = (svc.nodes || []).filter(x => x.weight > 0 && x.health !== "ejected");
  if (active.length === 0) return null;
  let shares;
  if (strategy === "weighted" || strategy === "random") {
    const sum = active.reduce((a, x) => a + x.weight, 0);
    shares = active.map(x => [x.id, x.weight / sum]);
  } else if (strategy === "roundrobin") {
    shares = active.map(x => [x.id, 1 / active.length]);
  } else {
    return null; // hash and leastloaded have no fixed share
  }
  return Object.fromEntries(shares.map(([id, s]) => [id, s * n]));
}

function updateButton() {
  const n = Number(document.getElementById("cmp-n").value) || 0;
  document.getElementById("cmp-send").textContent = "send " + n + " test calls";
}

async function sendTestCalls(ev) {
  ev.preventDefault();
  const service = document.getElementById("cmp-service").value;
  const strategy = document.getElementById("cmp-strategy").value;
  const n = Number(document.getElementById("cmp-n").value);
  const button = document.getElementById("cmp-send");
  const progress = document.getElementById("cmp-progress");
  const result = document.getElementById("cmp-result");
  const errBox = document.getElementById("cmp-error");
  errBox.hidden = true;
  result.dataset.state = "running";
  button.disabled = true;
  const expected = expectedCounts(service, strategy, n);
  try {
    const res = await api("/admin/api/test-calls", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({service, strategy, n}),
    });
    if (!res.ok) {
      const e = await res.json().catch(() => ({detail: "HTTP " + res.status}));
      throw new Error(e.detail || ("HTTP " + res.status));
    }
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    let last = null;
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      buf += dec.decode(value, {stream: true});
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line) continue;
        last = JSON.parse(line);
        const entries = Object.entries(last.counts || {}).sort((a, b) => a[0].localeCompare(b[0]));
        const scaled = expected && Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, v * last.done / n]));
        result.replaceChildren(...barRows(entries, scaled));
        progress.textContent = last.done + " / " + n + " calls, " + last.errors + " errors";
      }
    }
    if (!last || !last.final) throw new Error("the test run ended early");
    result.dataset.state = "done";
  } catch (err) {
    errBox.textContent = "test calls failed: " + err.message;
    errBox.hidden = false;
    result.dataset.state = "error";
  } finally {
    button.disabled = false;
  }
}

document.getElementById("window").textContent = WINDOW_S;
document.getElementById("compare").addEventListener("submit", sendTestCalls);
document.getElementById("cmp-n").addEventListener("input", updateButton);
updateButton();
poll();
