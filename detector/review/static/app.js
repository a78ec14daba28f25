// Jingwang review page. Plain JS, no dependencies, works offline.
// Post texts and every other field of a record are untrusted: they are only ever inserted as
// text (textContent / text nodes), never parsed as markup: no HTML-string APIs anywhere in this file.
// Nor is any value's type assumed: an item may be malformed (a crawled `campaign` of
// {"size": {"toString": 1}} throws in String() or a template literal), so every value goes
// through txt / num / arr / obj below, and one item that cannot be drawn never stops the queue.
"use strict";

const PAGE = 50;
const TOKEN_KEY = "jingwang-review-token";
const REVIEWER_KEY = "jingwang-reviewer";

const state = {
  token: null, labels: [], items: [], cursor: null, index: -1,
  item: null, draft: null, saving: false, mine: 0, loading: false, filterTimer: null, operation: null,
};

const $ = (id) => document.getElementById(id);

// Any JSON value as display text, without calling its own toString / valueOf.
function txt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  try { return JSON.stringify(v) ?? ""; } catch (e) { return "?"; }
}
const num = (v, fallback = 0) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
const arr = (v) => (Array.isArray(v) ? v : []);
const obj = (v) => (v && typeof v === "object" && !Array.isArray(v) ? v : {});

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = txt(v);
    else node.setAttribute(k, txt(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(c instanceof Node ? c : document.createTextNode(txt(c)));
  }
  return node;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function riskClass(risk) {
  const i = state.labels.indexOf(risk);
  return i >= 0 && i < 3 ? `r-${i}` : "r-other";
}

// ---------------------------------------------------------------- API

class AuthError extends Error {}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${state.token}` }, options.headers || {});
  const res = await fetch(path, Object.assign({}, options, { headers }));
  if (res.status === 401) throw new AuthError("wrong or missing token");
  return res;
}

async function getJSON(path) {
  const res = await api(path);
  if (!res.ok) throw new Error(`${res.status}: ${(await res.json().catch(() => ({}))).detail || res.statusText}`);
  return res.json();
}

// POST a decision; network errors and 5xx are retried with the same decision id, so the server
// can recognise a retry and never applies it twice.
async function postDecision(itemId, body) {
  let lastErr = null;
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt) await new Promise((r) => setTimeout(r, 300 * 2 ** attempt));
    try {
      const res = await api(`/api/items/${encodeURIComponent(itemId)}/decision`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      if (res.status >= 500) { lastErr = new Error(`server error ${res.status}`); continue; }
      return res;
    } catch (e) {
      if (e instanceof AuthError) throw e;
      lastErr = e;
    }
  }
  throw lastErr;
}

// ---------------------------------------------------------------- login

function showLogin(message) {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("token-input").focus();
}

async function start() {
  const m = /(?:^|&)token=([^&]+)/.exec(location.hash.slice(1));
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  state.token = sessionStorage.getItem(TOKEN_KEY);
  $("reviewer").value = localStorage.getItem(REVIEWER_KEY) || "";
  if (!state.token) return showLogin("");
  try {
    const meta = await getJSON("/api/meta");
    state.labels = meta.labels;
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    return showLogin(e instanceof AuthError ? "That token was not accepted." : `Cannot reach the server: ${e.message}`);
  }
  $("login").hidden = true;
  $("app").hidden = false;
  buildFilters();
  await Promise.all([reload(), refreshStats(), loadOperationList()]);
  setInterval(refreshStats, 30000);
}

// ---------------------------------------------------------------- queue

function buildFilters() {
  const sel = $("f-risk");
  while (sel.options.length > 1) sel.remove(1);
  for (const r of state.labels) sel.appendChild(el("option", { value: r, text: r }));
  const lb = $("label-buttons");
  clear(lb);
  state.labels.forEach((r, i) => {
    lb.appendChild(el("button", { type: "button", "aria-pressed": "false", dataset: { risk: r },
      class: riskClass(r), title: `toggle ${r} (${i + 1})`, onclick: () => toggle(r) },
    el("kbd", {}, String(i + 1)), " ", r));
  });
}

function queryString(cursor) {
  const p = new URLSearchParams({ status: $("f-status").value, limit: String(PAGE) });
  if ($("f-risk").value) p.set("risk", $("f-risk").value);
  if ($("f-min").value !== "") p.set("min_score", $("f-min").value);
  if ($("f-max").value !== "") p.set("max_score", $("f-max").value);
  if ($("f-campaign").value.trim()) p.set("campaign", $("f-campaign").value.trim());
  if (cursor) p.set("cursor", cursor);
  return p.toString();
}

async function reload() {
  state.items = [];
  state.cursor = null;
  state.index = -1;
  clear($("queue"));
  await loadMore();
  if (state.items.length) select(0); else showItem(null);
}

async function loadMore() {
  if (state.loading) return;
  if ($("f-operation").value.trim()) return loadOperation($("f-operation").value.trim());
  $("op-panel").hidden = true;
  state.loading = true;
  try {
    const data = await getJSON(`/api/items?${queryString(state.cursor)}`);
    for (const it of arr(data.items)) {
      state.items.push(obj(it));
      $("queue").appendChild(queueRow(obj(it), state.items.length - 1));
    }
    state.cursor = data.next_cursor;
    $("more").hidden = !state.cursor;
    $("queue-empty").hidden = state.items.length > 0;
  } catch (e) {
    if (e instanceof AuthError) showLogin("The token is no longer accepted.");
    else status(`Could not load the queue: ${e.message}`, "err");
  } finally {
    state.loading = false;
  }
}

function queueRow(it, i) {
  try {
    const row1 = el("div", { class: "row1" }, el("span", { class: "prio", text: num(it.priority).toFixed(2) }));
    for (const f of arr(it.flags)) row1.appendChild(el("span", { class: `badge ${riskClass(f)}`, text: f }));
    if (it.campaign) row1.appendChild(el("span", { class: "badge camp", text: `campaign ×${txt(obj(it.campaign).size) || "?"}` }));
    if (it.status === "reviewed") row1.appendChild(el("span", { class: "badge done", text: "✓ reviewed" }));
    return el("li", { dataset: { id: txt(it.id) }, class: it.status === "reviewed" ? "reviewed" : "pending",
      onclick: () => select(i) }, row1, el("div", { class: "preview", text: Array.from(txt(it.text)).slice(0, 160).join("") }));
  } catch (e) {  // never expected: the helpers above take any value; the queue goes on regardless
    return el("li", { dataset: { id: txt(it.id) }, onclick: () => select(i), text: `item ${txt(it.id)} (cannot be shown)` });
  }
}

function refreshRow(i) {
  const old = $("queue").children[i];
  if (!old) return;
  const fresh = queueRow(state.items[i], i);
  if (i === state.index) fresh.classList.add("selected");
  $("queue").replaceChild(fresh, old);
}

async function select(i) {
  if (i < 0) return;
  if (i >= state.items.length) {
    if (!state.cursor) return;
    await loadMore();
    if (i >= state.items.length) return;
  }
  const rows = $("queue").children;
  if (rows[state.index]) rows[state.index].classList.remove("selected");
  state.index = i;
  rows[i].classList.add("selected");
  rows[i].scrollIntoView({ block: "nearest" });
  showItem(state.items[i]);
  if (i >= state.items.length - 3 && state.cursor) loadMore();
  // fresh copy with history (and the current version, in case someone else decided it)
  try {
    const full = obj(await getJSON(`/api/items/${encodeURIComponent(txt(state.items[i].id))}`));
    if (state.index === i && state.items[i].id === full.id) {
      const changed = full.version !== state.items[i].version;
      state.items[i] = full;
      if (changed) { showItem(full); refreshRow(i); } else { state.item = full; drawPart(() => renderHistory(full)); drawPart(() => renderMeta(full)); }
    }
  } catch (e) {
    if (e instanceof AuthError) showLogin("The token is no longer accepted.");
  }
}

// ---------------------------------------------------------------- one item

function showItem(it) {
  state.item = it;
  $("no-item").hidden = !!it;
  $("item").hidden = !it;
  if (!it) return;
  state.draft = {};
  const labels = it.labels ? obj(it.labels) : null;
  for (const r of state.labels) state.draft[r] = labels ? (labels[r] === 1 ? 1 : 0) : (arr(it.flags).includes(r) ? 1 : 0);
  $("note").value = labels ? txt(it.note) : "";
  drawPart(() => renderMeta(it));
  drawPart(() => renderText($("post-text"), it.text, it.evidence));
  drawPart(() => renderEvidence(it.evidence));
  drawPart(() => renderScores(it));
  renderDraft();
  drawPart(() => renderHistory(it));
  $("reveal").hidden = !(it.masked && arr(it.pii).length);
}

// One part of the item view; if it throws on a malformed value, the rest is still drawn.
function drawPart(draw) {
  try { draw(); } catch (e) { status(`Part of this item cannot be shown (${txt(e && e.message)}).`, "err"); }
}

function renderMeta(it) {
  const m = $("item-meta");
  clear(m);
  m.appendChild(el("span", {}, "id ", el("b", { text: it.id })));
  const f = obj(it.fields);
  if (f.author) m.appendChild(el("span", { text: `@${txt(f.author)}` }));
  if (f.created_at) m.appendChild(el("span", { text: f.created_at }));
  if (typeof f.url === "string" && /^https?:\/\//i.test(f.url)) {
    m.appendChild(el("a", { href: f.url, target: "_blank", rel: "noopener noreferrer", text: "source" }));
  }
  m.appendChild(el("span", { text: `priority ${num(it.priority).toFixed(3)}` }));
  if (it.model) m.appendChild(el("span", { text: `model ${txt(it.model)}` }));
  if (it.campaign) {
    const c = obj(it.campaign);
    m.appendChild(el("a", { href: "#", title: "show this campaign's posts", onclick: (e) => {
      e.preventDefault(); $("f-campaign").value = txt(c.cluster_id); $("f-status").value = "all"; reload();
    }, text: `campaign ${txt(c.cluster_id)} · ${txt(c.size)} posts · score ${num(c.score).toFixed(2)}` }));
  }
  for (const op of arr(it.operations)) {
    m.appendChild(el("a", { href: "#", class: "op-link", title: "show this operation's posts, accounts and contacts",
      onclick: (e) => { e.preventDefault(); $("f-operation").value = txt(op); reload(); }, text: `operation ${txt(op)}` }));
  }
  m.appendChild(el("span", { text: it.status === "reviewed" ? `reviewed by ${txt(it.reviewer)} (v${txt(it.version)})` : "pending" }));
}

// The text with evidence spans highlighted. Spans index code points of the original text (Python
// str indexes), so the text is split with Array.from, not by UTF-16 units. Each run of characters
// with the same set of risks becomes one text node or one <mark> holding a text node.
function renderText(container, text, evidence) {
  clear(container);
  const chars = Array.from(txt(text));
  const hits = new Array(chars.length).fill(null);
  for (const [risk, entries] of Object.entries(obj(evidence))) {
    for (const e of arr(entries)) {
      for (const sp of arr(obj(e).spans)) {
        if (!Array.isArray(sp) || sp.length < 2) continue;
        const s = Math.max(0, Math.floor(num(sp[0]))), t = Math.min(chars.length, Math.floor(num(sp[1])));
        for (let i = s; i < t; i++) {
          hits[i] = hits[i] || new Map();
          hits[i].set(risk, (hits[i].get(risk) || []).concat([txt(e.term)]));
        }
      }
    }
  }
  const key = (h) => (h ? Array.from(h.keys()).sort().join("|") : "");
  let i = 0;
  while (i < chars.length) {
    let j = i + 1;
    while (j < chars.length && key(hits[j]) === key(hits[i])) j++;
    const piece = chars.slice(i, j).join("");
    if (!hits[i]) {
      container.appendChild(document.createTextNode(piece));
    } else {
      const risks = Array.from(hits[i].keys());
      const mark = el("mark", { class: `ev ${riskClass(risks[0])}${risks.length > 1 ? " multi" : ""}` });
      mark.title = risks.map((r) => `${r}: ${Array.from(new Set(hits[i].get(r))).join(", ")}`).join("\n");
      mark.textContent = piece;
      container.appendChild(mark);
    }
    i = j;
  }
}

function renderEvidence(evidence) {
  const box = $("evidence");
  clear(box);
  for (const [risk, list] of Object.entries(obj(evidence))) {
    const entries = arr(list).map(obj);
    if (!entries.length) continue;
    const span = el("span", {}, el("span", { class: `badge ${riskClass(risk)}`, text: risk }), " ");
    entries.forEach((e, k) => {
      if (e.term !== undefined) {
        const term = el("span", { class: "term", text: e.term });
        if (Array.isArray(e.views)) term.title = `views: ${arr(e.views).map(txt).join(", ")}`;
        span.appendChild(term);
        // share: the item's part of the risk's score (README, Output format); older records: weight
        if (typeof e.share === "number") span.appendChild(document.createTextNode(` ${Math.round(num(e.share) * 100)}%`));
        else if (typeof e.weight === "number") span.appendChild(document.createTextNode(` ${num(e.weight).toFixed(2)}`));
      } else if (e.cluster_id !== undefined) {
        span.appendChild(el("span", { class: "term", text: `cluster ${txt(e.cluster_id)} (${txt(e.size)} posts)` }));
      }
      if (k < entries.length - 1) span.appendChild(document.createTextNode(" · "));
    });
    box.appendChild(span);
  }
}

function renderScores(it) {
  const body = $("scores").tBodies[0];
  clear(body);
  for (const r of state.labels) {
    const p = num(obj(it.scores)[r]);
    const fill = el("div");
    fill.style.width = `${Math.round(Math.min(1, Math.max(0, p)) * 100)}%`;  // CSSOM: allowed under the CSP
    const bar = el("div", { class: "bar" }, fill);
    const flagged = arr(it.flags).includes(r);
    body.appendChild(el("tr", { class: flagged ? "flagged" : "" },
      el("td", { text: r }), el("td", {}, bar), el("td", { text: p.toFixed(3) }),
      el("td", { text: flagged ? "flagged" : "" })));
  }
}

function renderDraft() {
  for (const b of $("label-buttons").children) b.setAttribute("aria-pressed", state.draft[b.dataset.risk] ? "true" : "false");
}

// Decisions and reveals of personal data, oldest first: both are the item's audit log.
function renderHistory(it) {
  const ol = $("history");
  clear(ol);
  const entries = arr(it.history).map(obj).concat(arr(it.reveals).map(obj))
    .sort((a, b) => (txt(a.created_at) < txt(b.created_at) ? -1 : txt(a.created_at) > txt(b.created_at) ? 1 : 0));
  if (!entries.length) { ol.appendChild(el("li", { text: "no decision yet" })); return; }
  for (const d of entries) {
    const when = el("span", { class: "when", text: txt(d.created_at).replace("T", " ").slice(0, 19) });
    if (d.action === "reveal") {
      ol.appendChild(el("li", { class: "reveal" }, when, " · ", el("b", { text: d.reviewer }), " · revealed personal data",
        arr(d.kinds).length ? ` (${arr(d.kinds).map(txt).join(", ")})` : ""));
      continue;
    }
    const yes = state.labels.filter((r) => obj(d.labels)[r] === 1);
    ol.appendChild(el("li", {}, when, " · ",
      el("b", { text: d.reviewer }), " · ", yes.length ? yes.join(", ") : "not risky",
      d.note ? ` · “${txt(d.note)}”` : "", d.source && d.source !== "api" ? ` (${txt(d.source)})` : ""));
  }
}

function toggle(risk) {
  if (!state.item) return;
  state.draft[risk] = state.draft[risk] ? 0 : 1;
  renderDraft();
}

function status(text, kind) {
  const s = $("save-status");
  s.textContent = text;
  s.className = kind || "";
}

async function save(labels) {
  const it = state.item;
  if (!it || state.saving) return;
  const reviewer = $("reviewer").value.trim();
  if (!reviewer) { status("Type your name in the Reviewer box first.", "err"); $("reviewer").focus(); return; }
  localStorage.setItem(REVIEWER_KEY, reviewer);
  const body = { reviewer, labels: Object.assign({}, labels || state.draft), note: $("note").value,
    decision_id: newId(), expected_version: it.version };
  state.saving = true;
  status(`Saving ${txt(it.id)}…`);
  try {
    const res = await postDecision(txt(it.id), body);
    const data = await res.json();
    const i = state.items.findIndex((x) => x.id === it.id);
    if (res.status === 409 && data.item) {
      if (i >= 0) { state.items[i] = data.item; refreshRow(i); }
      if (state.item && state.item.id === it.id) showItem(data.item);
      status(`Not saved: ${data.detail}`, "err");
      return;
    }
    if (!res.ok) { status(`Not saved: ${typeof data.detail === "string" ? data.detail : res.status}`, "err"); return; }
    if (i >= 0) { state.items[i] = data.item; refreshRow(i); }
    state.mine += data.status === "applied" ? 1 : 0;
    const yes = state.labels.filter((r) => data.decision.labels[r]);
    status(`Saved ${txt(it.id)}: ${yes.length ? yes.join(", ") : "not risky"} ✓`, "ok");
    refreshStats();
    if (state.item && state.item.id === it.id) {
      if (i + 1 < state.items.length || state.cursor) select(i + 1); else showItem(data.item);
    }
  } catch (e) {
    if (e instanceof AuthError) showLogin("The token is no longer accepted.");
    else status(`Not saved (${e.message}); press Enter to try again.`, "err");
  } finally {
    state.saving = false;
  }
}

async function refreshStats() {
  try {
    const s = await getJSON("/api/stats");
    $("progress-bar").max = Math.max(1, s.total);
    $("progress-bar").value = s.reviewed;
    $("progress-text").textContent = `${s.reviewed} / ${s.total} reviewed · ${s.pending} pending · you: ${state.mine} this session`;
  } catch (e) { /* shown on the next action */ }
}

// ---------------------------------------------------------------- operations and personal data

// An operation on one screen: its accounts, contacts and risks above its posts (the queue).
async function loadOperation(id) {
  state.loading = true;
  try {
    const data = obj(await getJSON(`/api/operations/${encodeURIComponent(id)}`));
    state.operation = obj(data.operation);
    for (const it of arr(data.items)) {
      state.items.push(obj(it));
      $("queue").appendChild(queueRow(obj(it), state.items.length - 1));
    }
    renderOperation(state.operation);
    $("queue-empty").hidden = state.items.length > 0;
  } catch (e) {
    if (e instanceof AuthError) showLogin("The token is no longer accepted.");
    else { $("op-panel").hidden = true; status(`Could not load the operation: ${e.message}`, "err"); }
  } finally {
    state.loading = false;
    $("more").hidden = true;
  }
}

function renderOperation(op) {
  const p = $("op-panel");
  clear(p);
  const row = (name, values) => el("div", {}, el("span", { class: "k", text: name }), " ",
    arr(values).length ? arr(values).map(txt).join(", ") : "–");
  const risks = Object.entries(obj(op.risks)).map(([r, n]) => `${r} × ${txt(n)}`);
  const pending = state.items.filter((it) => it.status !== "reviewed").length;
  p.appendChild(el("h2", { text: `${txt(op.operation_id)} · ${txt(op.size)} posts · score ${num(op.score).toFixed(2)}` }));
  p.append(row("accounts", op.authors), row("contacts", op.contacts), row("risks", risks), row("linked by", op.linked_by),
    row("seen", [`${txt(op.first_seen) || "?"} → ${txt(op.last_seen) || "?"}`]));
  p.appendChild(el("button", { id: "op-confirm", type: "button", onclick: confirmOperation,
    text: `Confirm model flags for its ${pending} pending posts` }));
  p.hidden = false;
}

// Review an operation together: each pending post gets its own decision (its own audit row).
async function confirmOperation() {
  const reviewer = $("reviewer").value.trim();
  if (!reviewer) { status("Type your name in the Reviewer box first.", "err"); $("reviewer").focus(); return; }
  let n = 0;
  for (const it of state.items.filter((x) => x.status !== "reviewed")) {
    const labels = Object.fromEntries(state.labels.map((r) => [r, arr(it.flags).includes(r) ? 1 : 0]));
    const res = await postDecision(txt(it.id), { reviewer, labels, note: `operation ${txt(state.operation.operation_id)}`,
      decision_id: newId(), expected_version: it.version });
    if (res.ok) n += 1;
  }
  status(`Confirmed ${n} posts of ${txt(state.operation.operation_id)} ✓`, "ok");
  refreshStats();
  reload();
}

async function loadOperationList() {
  try {
    const dl = $("operation-list");
    clear(dl);
    for (const op of arr(obj(await getJSON("/api/operations?limit=200")).operations).map(obj)) {
      dl.appendChild(el("option", { value: txt(op.operation_id),
        text: `${txt(op.size)} posts · ${arr(op.authors).length} accounts · ${txt(op.pending)} pending` }));
    }
  } catch (e) { /* no operations imported */ }
}

// Personal data is masked unless a reviewer asks; the server logs the reveal before answering.
async function revealItem() {
  const it = state.item;
  if (!it) return;
  const reviewer = $("reviewer").value.trim();
  if (!reviewer) { status("Type your name in the Reviewer box first.", "err"); $("reviewer").focus(); return; }
  try {
    const res = await api(`/api/items/${encodeURIComponent(txt(it.id))}/reveal`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reviewer }) });
    const data = obj(await res.json());
    if (!res.ok) { status(`Not revealed: ${txt(data.detail)}`, "err"); return; }
    if (!state.item || state.item.id !== it.id) return;
    state.item = Object.assign({}, it, { text: data.text, evidence: data.evidence, fields: data.fields, masked: false,
      reveals: data.reveals, history: data.history });
    drawPart(() => renderText($("post-text"), data.text, data.evidence));
    drawPart(() => renderEvidence(data.evidence));
    drawPart(() => renderHistory(state.item));
    $("reveal").hidden = true;
    status(`Personal data of ${txt(it.id)} shown; the reveal is in its history.`, "ok");
  } catch (e) {
    if (e instanceof AuthError) showLogin("The token is no longer accepted.");
    else status(`Not revealed (${e.message}).`, "err");
  }
}

// ---------------------------------------------------------------- keyboard

function onKey(e) {
  if (!$("app").hidden && !$("help").open) {
    const t = e.target;
    if (t && t.id === "note") {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); save(); }
      else if (e.key === "Escape") { t.blur(); }
      return;
    }
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) {
      if (e.key === "Escape") t.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const n = Number(e.key);
    if (Number.isInteger(n) && n >= 1 && n <= state.labels.length) { e.preventDefault(); toggle(state.labels[n - 1]); return; }
    switch (e.key) {
      case "Enter": e.preventDefault(); save(); break;
      case "a": if (state.item) { e.preventDefault(); save(Object.fromEntries(state.labels.map((r) => [r, arr(state.item.flags).includes(r) ? 1 : 0]))); } break;
      case "x": case "0": e.preventDefault(); save(Object.fromEntries(state.labels.map((r) => [r, 0]))); break;
      case "j": case "ArrowDown": e.preventDefault(); select(state.index + 1); break;
      case "k": case "ArrowUp": e.preventDefault(); select(state.index - 1); break;
      case "n": e.preventDefault(); $("note").focus(); break;
      case "r": e.preventDefault(); reload(); break;
      case "?": e.preventDefault(); $("help").showModal(); break;
      default: break;
    }
  }
}

// ---------------------------------------------------------------- wiring

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
    $("token-input").value = "";
    start();
  });
  for (const id of ["f-status", "f-risk"]) $(id).addEventListener("change", reload);
  for (const id of ["f-min", "f-max", "f-campaign", "f-operation"]) {
    $(id).addEventListener("input", () => { clearTimeout(state.filterTimer); state.filterTimer = setTimeout(reload, 300); });
  }
  $("more").addEventListener("click", loadMore);
  $("reveal").addEventListener("click", revealItem);
  $("save").addEventListener("click", () => save());
  $("confirm").addEventListener("click", () => state.item && save(Object.fromEntries(state.labels.map((r) => [r, arr(state.item.flags).includes(r) ? 1 : 0]))));
  $("clear").addEventListener("click", () => save(Object.fromEntries(state.labels.map((r) => [r, 0]))));
  $("skip").addEventListener("click", () => select(state.index + 1));
  $("help-button").addEventListener("click", () => $("help").showModal());
  $("reviewer").addEventListener("change", () => localStorage.setItem(REVIEWER_KEY, $("reviewer").value.trim()));
  document.addEventListener("keydown", onKey);
  start();
});
