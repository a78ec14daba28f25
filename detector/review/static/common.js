// Jingwang review page: shared helpers, the page's state and the API calls. Plain JS, no
// dependencies, works offline. Loaded first of the page's three scripts (common.js, item.js, app.js:
// plain scripts, run in that order, sharing one global scope; nothing runs before DOMContentLoaded).
// Post texts and every other field of a record are untrusted: they are only ever inserted as
// text (textContent / text nodes), never parsed as markup: no HTML-string APIs in any of the scripts.
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

function status(text, kind) {
  const s = $("save-status");
  s.textContent = text;
  s.className = kind || "";
}
