// colalamo's status page: reads GET /status (with the key from session storage when this
// colalamo has keys), draws it, and runs the device-flow login through POST /status/login.
"use strict";
(function () {
  const KEY = "colalamo-api-key";
  const $ = (id) => document.getElementById(id);
  let windowName = "hour";
  let timer = null;
  let countdown = null;
  const charts = {};

  function headers() {
    const key = sessionStorage.getItem(KEY);
    return key ? { "Authorization": "Bearer " + key, "Accept": "application/json" } : { "Accept": "application/json" };
  }

  async function call(method, path) {
    const response = await fetch(path, { method, headers: headers(), cache: "no-store" });
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return { status: response.status, body };
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function fill(tbody, rows) {
    tbody.replaceChildren(...rows.map((cells) => {
      const tr = el("tr");
      cells.forEach((c) => tr.append(c instanceof Node ? c : el("td", c === null || c === undefined ? "–" : c)));
      return tr;
    }));
  }

  function facts(dl, pairs) {
    dl.replaceChildren();
    for (const [name, value] of pairs) {
      if (value === undefined) continue;
      dl.append(el("dt", name), el("dd", value === null ? "–" : value));
    }
  }

  const num = (x, digits) => (x === null || x === undefined ? "–" : Number(x).toLocaleString(undefined, { maximumFractionDigits: digits === undefined ? 2 : digits }));

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.max(0, Math.round(seconds));
    return s >= 60 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : s + " s";
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(refresh, ms);
  }

  async function refresh() {
    let answer;
    try {
      answer = await call("GET", "/status?window=" + encodeURIComponent(windowName));
    } catch (e) {
      $("health").textContent = "colalamo is not answering";
      $("health").className = "pill bad";
      schedule(5000);
      return;
    }
    if (answer.status === 401) {
      showKeyForm(sessionStorage.getItem(KEY) ? (answer.body && answer.body.error && answer.body.error.message) || "that key was refused" : null);
      return;
    }
    $("key-form").hidden = true;
    if (answer.status !== 200 || !answer.body) {
      $("health").textContent = "status unavailable (" + answer.status + ")";
      $("health").className = "pill bad";
      schedule(5000);
      return;
    }
    render(answer.body);
    const pending = answer.body.login && ["starting", "pending", "slow_down"].includes(answer.body.login.state);
    schedule(pending ? 1000 : 5000);
  }

  function showKeyForm(error) {
    for (const id of ["account", "login", "usage", "recent", "models", "try"]) $(id).hidden = true;
    $("key-form").hidden = false;
    $("health").textContent = "API key needed";
    $("health").className = "pill warn";
    $("key-error").hidden = !error;
    $("key-error").textContent = error || "";
  }

  function render(s) {
    $("version").textContent = "v" + s.version;
    const account = s.account || {};
    $("health").textContent = account.logged_in ? "logged in" : "not logged in";
    $("health").className = "pill " + (account.logged_in ? "ok" : "warn");
    renderAccount(s);
    renderLogin(s);
    renderUsage(s.usage);
    renderRecent(s.recent || []);
    renderModels(s.models || []);
    renderTry(s.try_it);
  }

  function renderAccount(s) {
    const a = s.account || {};
    $("account").hidden = !a.logged_in;
    if (!a.logged_in) return;
    const premium = (a.quotas || {}).premium_interactions;
    const today = (s.budgets || {}).today || {};
    const budgets = s.budgets || {};
    facts($("account-facts"), [
      ["GitHub user", a.login],
      ["plan", a.plan],
      ["billing", a.token_based_billing ? "AI credits (by tokens)" : "premium requests"],
      ["Copilot token expires in", duration(a.copilot_token_expires_in)],
      ["premium quota left", premium ? (premium.unlimited ? "unlimited" : num(premium.remaining) + " of " + num(premium.entitlement) + " (" + num(premium.percent_remaining, 1) + " %)") : null],
      ["quota resets", a.quota_reset_date],
      ["AI credits today", num(today.ai_credits_today, 4) + (budgets.credit_budget !== null && budgets.credit_budget !== undefined ? " of " + num(budgets.credit_budget) + " budget" : "")],
      ["premium requests today", num(today.premium_requests_today) + (budgets.premium_budget !== null && budgets.premium_budget !== undefined ? " of " + num(budgets.premium_budget) + " budget" : "")],
      ["GitHub says", a.error ? a.error : undefined],
    ]);
    const b = s.backoff || {};
    $("backoff").hidden = !b.active;
    $("backoff").textContent = b.active ? "Copilot rate-limited this account: colalamo holds requests back for " + duration(b.retry_in) + " more." : "";
  }

  function renderLogin(s) {
    const login = s.login || { state: "logged_in" };
    const loggedIn = (s.account || {}).logged_in;
    $("login").hidden = loggedIn && login.state === "logged_in";
    if ($("login").hidden) { clearInterval(countdown); return; }
    const pending = ["pending", "slow_down"].includes(login.state);
    $("login-button").hidden = pending || login.state === "starting";
    $("login-button").textContent = login.state === "failed" ? "Try again" : "Log in with GitHub";
    $("login-pending").hidden = !pending;
    $("login-message").hidden = !login.message;
    $("login-message").textContent = login.message || "";
    if (pending) {
      $("login-code").textContent = login.user_code;
      $("login-link").textContent = login.verification_uri;
      $("login-link").href = login.verification_uri;
      const ends = Date.now() + login.expires_in * 1000;
      const tick = () => { $("login-countdown").textContent = duration((ends - Date.now()) / 1000); };
      clearInterval(countdown);
      tick();
      countdown = setInterval(tick, 1000);
    } else {
      clearInterval(countdown);
    }
  }

  async function startLogin() {
    $("login-button").disabled = true;
    try {
      const answer = await call("POST", "/status/login");
      if (answer.status === 401) { showKeyForm("logging in needs this colalamo's API key"); return; }
      if (answer.status >= 400) {
        $("login-message").hidden = false;
        $("login-message").textContent = (answer.body && answer.body.error && answer.body.error.message) || "could not start the login";
      }
    } finally {
      $("login-button").disabled = false;
    }
    refresh();
  }

  function palette() {
    const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    return { colors: ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"],
             axis: dark ? "#97a0b3" : "#687083", grid: dark ? "#2a303c" : "#e5e7eb" };
  }

  function chart(id, names, data, kind) {
    const box = $(id);
    const p = palette();
    const width = Math.max(260, box.clientWidth || 300);
    const series = [{}].concat(names.map((name, i) => ({
      label: name, stroke: p.colors[i % p.colors.length], width: 2, spanGaps: true,
      fill: kind === "bars" ? p.colors[i % p.colors.length] + "55" : undefined,
      paths: kind === "bars" && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
      points: { show: kind !== "bars" },
    })));
    const key = names.join("\u0000");
    const existing = charts[id];
    if (existing && existing.key === key && existing.width === width) { existing.plot.setData(data); return; }
    if (existing) existing.plot.destroy();
    const axis = { stroke: p.axis, grid: { stroke: p.grid, width: 1 }, ticks: { stroke: p.grid } };
    const plot = new uPlot({ width, height: 200, series, axes: [axis, axis], scales: { x: { time: true } }, legend: { live: false } }, data, box);
    charts[id] = { plot, key, width };
  }

  function renderUsage(u) {
    $("usage").hidden = !u;
    if (!u) return;
    const t = u.totals;
    const totals = $("usage-totals");
    totals.replaceChildren(...[
      ["requests", num(t.requests, 0)], ["errors", num(t.errors, 0)], ["AI credits", num(t.credits, 4)],
      ["premium requests", num(t.premium)], ["latency p50 / p95 ms", num(t.latency_p50, 0) + " / " + num(t.latency_p95, 0)],
      ["first token p50 / p95 ms", num(t.ttft_p50, 0) + " / " + num(t.ttft_p95, 0)],
    ].map(([name, value]) => { const d = el("div"); d.append(el("dt", name), el("dd", value)); return d; }));
    const models = Object.keys(u.credits);
    chart("chart-credits", models.length ? models : ["no credits yet"], [u.t].concat(models.length ? models.map((m) => u.credits[m]) : [u.t.map(() => 0)]), "bars");
    chart("chart-requests", ["requests", "errors"], [u.t, u.requests, u.errors], "bars");
    chart("chart-latency", ["latency p50", "latency p95", "ttft p50", "ttft p95"], [u.t, u.latency_p50, u.latency_p95, u.ttft_p50, u.ttft_p95], "lines");
    const rows = (obj) => Object.entries(obj).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, num(v, 0)]);
    fill(document.querySelector("#by-status tbody"), rows(u.by_status));
    fill(document.querySelector("#by-client tbody"), rows(u.by_client));
  }

  function renderRecent(recent) {
    $("recent").hidden = false;
    $("recent-empty").hidden = recent.length > 0;
    fill(document.querySelector("#recent-table tbody"), recent.map((r) => {
      const status = el("td", r.status, r.status >= 400 ? "status-bad" : "status-ok");
      return [new Date(r.at * 1000).toLocaleTimeString(), r.client, r.surface, r.model, status,
        (r.prompt_tokens === null ? "–" : r.prompt_tokens) + " / " + (r.completion_tokens === null ? "–" : r.completion_tokens),
        r.credits ? num(r.credits, 4) : "0", num(r.latency_ms, 0), num(r.ttft_ms, 0)];
    }));
  }

  let modelRows = [];
  function renderModels(models) {
    $("models").hidden = models.length === 0;
    modelRows = models;
    filterModels();
  }

  function filterModels() {
    const words = $("model-filter").value.toLowerCase().split(/\s+/).filter(Boolean);
    const yes = (b) => (b ? "yes" : "–");
    const shown = modelRows.filter((m) => {
      const text = [m.id, m.name, m.vendor, m.type, (m.endpoints || []).join(" "), m.vision ? "vision" : "", m.tools ? "tools" : "", m.reasoning ? "reasoning" : "", m.premium ? "premium" : ""].join(" ").toLowerCase();
      return words.every((w) => text.includes(w));
    });
    fill(document.querySelector("#models-table tbody"), shown.map((m) => [
      m.id, m.vendor, (m.endpoints || []).join(" "), num(m.context, 0), num(m.max_output, 0),
      m.multiplier === null || m.multiplier === undefined ? "–" : "×" + m.multiplier,
      m.price_in === null ? "–" : num(m.price_in, 3) + " · " + num(m.price_out, 3),
      yes(m.vision), yes(m.tools), yes(m.reasoning)]));
  }

  let snippetsShown = "";
  function renderTry(t) {
    $("try").hidden = !t;
    if (!t) return;
    $("try-key").hidden = !t.key_required;
    const text = JSON.stringify(t.snippets);
    if (text === snippetsShown) return;  // keep a selection the reader is making
    snippetsShown = text;
    const box = $("snippets");
    box.replaceChildren();
    for (const [name, code] of Object.entries(t.snippets)) {
      const head = el("div", null, "snippet-head");
      const copy = el("button", "copy");
      copy.type = "button";
      copy.addEventListener("click", () => { navigator.clipboard && navigator.clipboard.writeText(code).then(() => { copy.textContent = "copied"; }); });
      head.append(el("h3", name), copy);
      const pre = el("pre");
      pre.append(el("code", code));
      box.append(head, pre);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("key-entry").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("key-input").value.trim();
      if (key) sessionStorage.setItem(KEY, key);
      $("key-input").value = "";
      refresh();
    });
    $("login-button").addEventListener("click", startLogin);
    $("model-filter").addEventListener("input", filterModels);
    document.querySelectorAll(".tabs button").forEach((button) => button.addEventListener("click", () => {
      windowName = button.dataset.window;
      document.querySelectorAll(".tabs button").forEach((b) => b.classList.toggle("active", b === button));
      refresh();
    }));
    let resized = null;
    window.addEventListener("resize", () => { clearTimeout(resized); resized = setTimeout(refresh, 200); });
    refresh();
  });
})();
