// The apiway dashboard: polls /_apiway/api/… and draws what it answers. No framework; charts with uPlot.
"use strict";

const API = "api/";
const state = { enabled: {}, charts: [], live: null, logGroup: null, logSince: 0, traces: [], chosenTrace: null };
window.apiwayDashboard = state; // for whoever inspects the page

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

async function getJson(path) {
  const response = await fetch(API + path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function setStatus(text) { $("status").textContent = text; }

// -- APIs, stages, routes; keys and usage ------------------------------------------------------------

function integrationText(integration) {
  if (!integration) return "—";
  return integration.target ? `${integration.type} ${integration.target}` : integration.type;
}

function renderApis(apis) {
  const list = $("api-list");
  const open = new Set([...list.querySelectorAll("details[open]")].map((d) => d.dataset.api));
  list.replaceChildren();
  if (!apis.length) { list.append(el("p", { class: "muted", text: "No APIs yet." })); return; }
  for (const api of apis) {
    const stages = api.stages.map((s) => el("span", { class: "chip", title: s.deploymentId || "" }, s.name));
    const rows = api.routes.map((r) => el("tr", {},
      el("td", { class: "mono" }, r.method), el("td", { class: "mono" }, r.path),
      el("td", {}, integrationText(r.integration)),
      el("td", {}, r.authorizer ? `${r.authorization} (${r.authorizer})` : r.authorization),
      el("td", {}, r.apiKeyRequired ? "yes" : "")));
    const table = el("table", {}, el("thead", {}, el("tr", {}, ...["method", "path", "integration", "authorization",
      "API key"].map((h) => el("th", {}, h)))), el("tbody", {}, ...rows));
    const details = el("details", { "data-api": api.id, class: "api" },
      el("summary", {}, el("strong", {}, api.name), " ", el("span", { class: "kind" }, api.kind), " ",
        el("span", { class: "muted mono" }, api.id), "  ", ...stages,
        el("span", { class: "muted" }, ` ${api.routes.length} ${api.kind === "REST" ? "methods" : "routes"}`)),
      table);
    if (open.has(api.id)) details.open = true;
    list.append(details);
  }
}

function renderKeys(keys, total) {
  const body = $("key-table").querySelector("tbody");
  body.replaceChildren();
  if (total > keys.length) {
    body.append(el("tr", {}, el("td", { colspan: "7", class: "muted" }, `the first ${keys.length} of ${total} keys`)));
  }
  if (!keys.length) {
    body.append(el("tr", {}, el("td", { colspan: "7", class: "muted" }, "No API keys.")));
    return;
  }
  for (const key of keys) {
    const plans = key.plans.length ? key.plans : [null];
    plans.forEach((plan, i) => {
      const quota = plan && plan.quota;
      const left = quota ? el("span", {}, el("span", { class: "bar" },
        el("span", { style: `width:${Math.round(100 * quota.remaining / Math.max(quota.limit, 1))}%` })),
        `${quota.remaining} / ${quota.limit} per ${quota.period.toLowerCase()}`) : (plan ? "no quota" : "");
      const throttle = plan && plan.throttle ? `${plan.throttle.rateLimit ?? "–"}/s, burst ${plan.throttle.burstLimit ?? "–"}`
        : "";
      body.append(el("tr", {},
        el("td", {}, i === 0 ? key.name : ""), el("td", {}, i === 0 ? (key.enabled ? "yes" : "no") : ""),
        el("td", {}, plan ? plan.name || plan.id : el("span", { class: "muted" }, "in no usage plan")),
        el("td", { class: "mono" }, plan ? plan.stages.join(", ") : ""), el("td", {}, plan ? plan.usedToday : ""),
        el("td", {}, left), el("td", {}, throttle)));
    });
  }
}

function renderStageChoice(stages) {
  const select = $("live-stage");
  const chosen = select.value;
  const options = [el("option", { value: "" }, "all stages")];
  for (const s of stages) {
    options.push(el("option", { value: `${s.apiId}/${s.stage}` }, `${s.apiName} · ${s.stage} (${s.kind})`));
  }
  select.replaceChildren(...options);
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : "";
}

async function refreshOverview() {
  const overview = await getJson("overview");
  state.enabled = overview.enabled;
  renderApis(overview.apis);
  renderKeys(overview.keys, overview.keysTotal);
  renderStageChoice(overview.stages);
  for (const [source, section] of [["metrics", "live"], ["logs", "logs"], ["traces", "traces"]]) {
    $(`${section}-off`).hidden = overview.enabled[source];
    $(section).classList.toggle("off-source", !overview.enabled[source]);
  }
  if (overview.enabled.metrics && !state.charts.length) makeCharts();
  setStatus(`${overview.apis.length} APIs · updated ${new Date(overview.now_ms).toLocaleTimeString()}`);
}

// -- live charts --------------------------------------------------------------------------------------

// Latency and the hit ratio have no value in a second without requests: their points are drawn, not only lines.
const CHARTS = [
  { title: "Requests per second", series: [["requests", "requests", "#2f6fde"]] },
  { title: "Latency (ms)", sparse: true, series: [["p50", "p50", "#2f6fde"], ["p99", "p99", "#c0392b"],
    ["integration_p50", "integration p50", "#2a9d68"], ["integration_p99", "integration p99", "#d98b1a"]] },
  { title: "Errors and throttling per second", series: [["4xx", "4XX", "#d98b1a"], ["5xx", "5XX", "#c0392b"],
    ["throttled", "throttled", "#8e44ad"]] },
  { title: "Cache hit ratio (%)", sparse: true, series: [["cache_ratio", "hit ratio", "#2a9d68"]] },
];

function chartWidth() {
  const box = $("charts").clientWidth || 960;
  return Math.max(300, Math.min(box, box >= 940 ? (box - 13) / 2 : box) - 4);
}

function makeCharts() {
  if (typeof uPlot === "undefined") { $("charts-off").hidden = false; return; }
  for (const spec of CHARTS) {
    const box = el("div", { class: "chart" }, el("h3", {}, spec.title));
    $("charts").append(box);
    const opts = {
      width: chartWidth(), height: 180, cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      series: [{}, ...spec.series.map(([, label, stroke]) => ({
        label, stroke, width: 1.5, spanGaps: false, points: { show: !!spec.sparse, size: 4, fill: stroke } }))],
      axes: [{ space: 70, values: (u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString()) },
        { size: 50 }],
    };
    const data = [[], ...spec.series.map(() => [])];
    state.charts.push({ spec, plot: new uPlot(opts, data, box) });
  }
  window.addEventListener("resize", () => state.charts.forEach((c) => c.plot.setSize({ width: chartWidth(), height: 180 })));
}

function cacheRatio(live) {
  return live.t.map((_, i) => {
    const hit = live.cache_hit[i] || 0, miss = live.cache_miss[i] || 0;
    return hit + miss ? (100 * hit) / (hit + miss) : null;
  });
}

async function refreshLive() {
  if (!state.enabled.metrics) return;
  const [api, stage] = ($("live-stage").value || "/").split("/");
  const query = new URLSearchParams({ seconds: "300" });
  if (api) query.set("api", api);
  if (stage) query.set("stage", stage);
  const live = await getJson(`live?${query}`);
  live.cache_ratio = cacheRatio(live);
  state.live = live;
  $("live-requests").textContent = live.requests.reduce((a, b) => a + (b || 0), 0);
  for (const chart of state.charts) {
    chart.plot.setData([live.t, ...chart.spec.series.map(([key]) => live[key] || live.t.map(() => null))]);
  }
}

// -- traces -------------------------------------------------------------------------------------------

function renderTraces(traces) {
  state.traces = traces;
  const list = $("trace-list");
  list.replaceChildren(...traces.map((t) => {
    const item = el("li", { "data-trace": t.traceId, class: t.traceId === state.chosenTrace ? "chosen" : "" },
      el("span", { class: t.status >= 400 ? "status-err" : "" }, t.status), " ", el("span", { class: "mono" },
        `${t.method} ${t.path}`), " ", el("span", { class: "muted" }, `${t.duration_ms.toFixed(1)} ms`));
    item.addEventListener("click", () => { state.chosenTrace = t.traceId; renderTraces(state.traces); });
    return item;
  }));
  const chosen = traces.find((t) => t.traceId === state.chosenTrace);
  if (chosen) renderWaterfall(chosen);
}

function renderWaterfall(trace) {
  const total = Math.max(trace.duration_ms, 0.001);
  const rows = trace.spans.map((span) => {
    const left = (100 * (span.start_ms - trace.start_ms)) / total;
    const width = (100 * span.duration_ms) / total;
    return el("div", { class: "span-row" }, el("span", { class: "mono", title: span.name }, span.name),
      el("div", { class: "span-track" }, el("div", { class: `span-bar span-${span.kind}`,
        style: `left:${Math.max(0, left).toFixed(2)}%;width:${Math.min(100, width).toFixed(2)}%` })),
      el("span", { class: "muted" }, `${span.duration_ms.toFixed(2)} ms`));
  });
  $("waterfall").replaceChildren(el("p", {}, el("span", { class: "mono" }, trace.traceId), " ",
    el("span", { class: "muted" }, `${trace.api}/${trace.stage} · ${trace.method} ${trace.path} · ${trace.status}`)),
  ...rows);
}

async function refreshTraces() {
  if (!state.enabled.traces) return;
  renderTraces((await getJson("traces?limit=50")).traces);
}

// -- logs ---------------------------------------------------------------------------------------------

async function refreshLogGroups() {
  if (!state.enabled.logs) return;
  const { groups } = await getJson("logs");
  const select = $("log-group");
  const chosen = select.value;
  select.replaceChildren(...groups.map((g) => el("option", { value: g }, g)));
  if (!groups.length) select.append(el("option", { value: "" }, "no log groups yet"));
  if (groups.includes(chosen)) select.value = chosen;
}

async function refreshLogTail() {
  if (!state.enabled.logs) return;
  const group = $("log-group").value;
  if (!group) return;
  if (group !== state.logGroup) {  // a new group: its last five minutes
    state.logGroup = group;
    state.logSince = Date.now() - 300000;
    $("log-tail").replaceChildren();
  }
  const query = new URLSearchParams({ group, since: String(state.logSince), limit: "200" });
  const { events } = await getJson(`logs/tail?${query}`);
  const pane = $("log-tail");
  const atEnd = pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 4;
  for (const event of events) {
    pane.append(`${new Date(event.timestamp).toISOString()} ${event.stream}  ${event.message}\n`);
    state.logSince = Math.max(state.logSince, event.timestamp + 1);
  }
  while (pane.childNodes.length > 2000) pane.firstChild.remove();
  if (atEnd) pane.scrollTop = pane.scrollHeight;
}

// -- polling ------------------------------------------------------------------------------------------

function every(ms, job, now = true) {
  const run = async () => {
    try { await job(); } catch (err) { setStatus(`not reachable: ${err.message}`); }
    setTimeout(run, ms);
  };
  if (now) run(); else setTimeout(run, ms);
}

async function start() {
  try { await refreshOverview(); } catch (err) { setStatus(`not reachable: ${err.message}`); }
  every(5000, refreshOverview, false);
  every(1000, refreshLive);
  every(2000, refreshTraces);
  every(10000, refreshLogGroups);
  every(2000, refreshLogTail);
}

start();
