// Jingwang review page: login, the queue, decisions, operations, keyboard and wiring. Uses
// common.js and item.js, loaded before it. Untrusted values go in as text only: no HTML-string APIs.
"use strict";

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

// ---------------------------------------------------------------- decisions

function toggle(risk) {
  if (!state.item) return;
  state.draft[risk] = state.draft[risk] ? 0 : 1;
  renderDraft();
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

// ---------------------------------------------------------------- operations

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
