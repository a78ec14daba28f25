// Jingwang review page: one item's view (meta, text with evidence, scores, history) and the reveal
// of its masked personal data. Uses common.js; loaded before app.js. Untrusted values go in as text
// only (txt / num / arr / obj, el): no HTML-string APIs.
"use strict";

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
  drawPart(() => renderEvidence(it.evidence, it.subtypes));
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

function renderEvidence(evidence, subtypes) {
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
  renderSubtypes(box, subtypes);
}

// Each flagged risk's subtypes (insult, threat, doxxing ...), best first, with their score and
// their top evidence terms: why a post is, say, a threat and not only harassment.
function renderSubtypes(box, subtypes) {
  for (const [risk, subs] of Object.entries(obj(subtypes))) {
    const ranked = Object.entries(obj(subs)).map(([name, s]) => [name, obj(s)])
      .sort((a, b) => num(b[1].score) - num(a[1].score));
    if (!ranked.length) continue;
    const line = el("span", { class: "subtypes" }, el("span", { class: `badge ${riskClass(risk)}`, text: risk }), " ");
    ranked.forEach(([name, s], k) => {
      line.appendChild(el("span", { class: "subtype", text: `${txt(name)} ${Math.round(num(s.score) * 100)}%` }));
      const terms = arr(s.evidence).map(obj).filter((e) => e.term !== undefined).slice(0, 3);
      if (terms.length) line.appendChild(document.createTextNode(` (${terms.map((e) => txt(e.term)).join(", ")})`));
      if (k < ranked.length - 1) line.appendChild(document.createTextNode(" · "));
    });
    box.appendChild(line);
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

// ---------------------------------------------------------------- personal data

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
    state.item = Object.assign({}, it, { text: data.text, evidence: data.evidence, subtypes: data.subtypes,
      fields: data.fields, masked: false, reveals: data.reveals, history: data.history });
    drawPart(() => renderText($("post-text"), data.text, data.evidence));
    drawPart(() => renderEvidence(data.evidence, data.subtypes));
    drawPart(() => renderHistory(state.item));
    $("reveal").hidden = true;
    status(`Personal data of ${txt(it.id)} shown; the reveal is in its history.`, "ok");
  } catch (e) {
    if (e instanceof AuthError) showLogin("The token is no longer accepted.");
    else status(`Not revealed (${e.message}).`, "err");
  }
}
