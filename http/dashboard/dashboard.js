// Corsair's dashboard (docs/http.md §Dashboard): polls GET /api/v1/stats every 2 s and draws
// queues, workers, their rates and a queue's dead set; every action is one /api/v1 call.
// No framework and nothing from the network; text from the broker goes in through textContent only.
"use strict";

const POLL_MS = 2000;
const HISTORY_MS = 5 * 60 * 1000;
const DEAD_LIMIT = 100;
const TOKEN_KEY = "corsair_token";

const state = {
  history: new Map(),   // queue -> [{t, done, failed}] from successive polls, oldest first
  charts: new Map(),    // queue -> its <canvas>, kept across redraws
  uptimeMs: null,
  deadQueue: null,      // the queue whose dead set is shown
  busy: false,
  pollAgain: false,     // an action finished while a poll ran: poll once more after it
};

const $ = (id) => document.getElementById(id);

// ---- the API ----

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  let response;
  try {
    response = await fetch(path, { method, headers, cache: "no-store", credentials: "same-origin" });
  } catch (error) {
    throw new ApiError(0, "unreachable", "the broker does not answer (" + error.message + ")");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    body = null;
  }
  if (response.status === 401) {
    // A token that stopped working is dropped, so the next poll may still get in with the cookie.
    if (token) sessionStorage.removeItem(TOKEN_KEY);
    showTokenForm(true);
  }
  if (!response.ok) {
    const code = body && body.error ? body.error : "http_" + response.status;
    const message = body && body.message ? body.message : response.statusText;
    throw new ApiError(response.status, code, message);
  }
  return body;
}

// Shows `error` (or hides the box when null). `source` is "poll" for the poll's own failures,
// which the next good poll clears; an action's error stays until the next action.
function showError(error, source = "action") {
  const box = $("error");
  box.dataset.from = source;
  box.hidden = !error;
  box.textContent = !error ? "" : error instanceof ApiError ? error.code + ": " + error.message : String(error);
}

function showTokenForm(show) {
  $("token-form").hidden = !show;
  if (show) $("token-input").focus();
}

// ---- formatting ----

function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return ms + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
  if (ms < 3600000) return Math.floor(ms / 60000) + " m " + Math.floor((ms % 60000) / 1000) + " s";
  if (ms < 86400000) return Math.floor(ms / 3600000) + " h " + Math.floor((ms % 3600000) / 60000) + " m";
  return Math.floor(ms / 86400000) + " d " + Math.floor((ms % 86400000) / 3600000) + " h";
}

function timeOfDay(atMs) {
  return atMs === null || atMs === undefined ? "–" : new Date(atMs).toISOString().replace("T", " ").replace("Z", " UTC");
}

function element(tag, text, attributes) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  return node;
}

function cell(text, field, className) {
  const attributes = field ? { "data-field": field } : {};
  if (className) attributes.class = className;
  return element("td", text, attributes);
}

function button(label, action, onClick, className) {
  const node = element("button", label, { type: "button", "data-action": action });
  if (className) node.className = className;
  node.addEventListener("click", onClick);
  return node;
}

// Shows one row per item, in order. A row already shown stays the same element and only its
// changed cells are replaced, so a click that falls while a poll redraws lands on its button.
function syncRows(body, items, keyOf, build) {
  const shown = new Map([...body.rows].map((row) => [row.dataset.key, row]));
  const rows = items.map((item) => {
    const fresh = build(item);
    fresh.dataset.key = keyOf(item);
    const row = shown.get(fresh.dataset.key);
    if (!row || row.cells.length !== fresh.cells.length) return fresh;
    [...fresh.cells].forEach((cell, i) => {
      if (row.cells[i].outerHTML !== cell.outerHTML) row.cells[i].replaceWith(cell);
    });
    return row;
  });
  const isSame = rows.length === body.rows.length && rows.every((row, i) => body.rows[i] === row);
  if (!isSame) body.replaceChildren(...rows);
}

// ---- rates ----

// Keeps each queue's done and failed counters from this poll; forgets a queue's history when its
// counters went back (the broker restarted) and samples older than HISTORY_MS.
function recordRates(stats, now) {
  const restarted = state.uptimeMs !== null && stats.uptime_ms < state.uptimeMs;
  state.uptimeMs = stats.uptime_ms;
  const seen = new Set();
  for (const queue of stats.queues) {
    seen.add(queue.queue);
    let samples = state.history.get(queue.queue);
    const last = samples && samples[samples.length - 1];
    if (!samples || restarted || (last && (queue.done < last.done || queue.failed < last.failed))) {
      samples = [];
      state.history.set(queue.queue, samples);
    }
    samples.push({ t: now, done: queue.done, failed: queue.failed });
    while (samples.length > 2 && now - samples[0].t > HISTORY_MS) samples.shift();
  }
  for (const queue of [...state.history.keys()]) {
    if (!seen.has(queue)) {
      state.history.delete(queue);
      state.charts.delete(queue);
    }
  }
}

// Per-interval rates [{t, done, failed}] in jobs per second.
function rates(samples) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const seconds = (samples[i].t - samples[i - 1].t) / 1000;
    if (seconds <= 0) continue;
    out.push({
      t: samples[i].t,
      done: (samples[i].done - samples[i - 1].done) / seconds,
      failed: (samples[i].failed - samples[i - 1].failed) / seconds,
    });
  }
  return out;
}

function rateText(rate) {
  return rate < 10 ? rate.toFixed(1) : Math.round(rate).toString();
}

// Done/s as a filled area and failed/s as a red line, newest at the right edge. The time axis
// spans what the page has seen, at least half a minute and at most HISTORY_MS.
function drawChart(canvas, samples, now) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 140;
  const height = canvas.clientHeight || 28;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const points = rates(samples);
  if (points.length === 0) return;
  const span = Math.min(HISTORY_MS, Math.max(30000, now - samples[0].t));
  const peak = Math.max(1, ...points.map((p) => Math.max(p.done, p.failed)));
  const x = (t) => width - ((now - t) / span) * width;
  const y = (v) => height - 1 - (v / peak) * (height - 3);
  g.beginPath();
  g.moveTo(x(points[0].t), height);
  for (const p of points) g.lineTo(x(p.t), y(p.done));
  g.lineTo(x(points[points.length - 1].t), height);
  g.closePath();
  g.fillStyle = "rgba(47, 133, 90, 0.25)";
  g.fill();
  const hasFailures = points.some((p) => p.failed > 0);
  for (const [key, colour] of [["done", "#2f855a"], ["failed", "#c53030"]]) {
    if (key === "failed" && !hasFailures) continue;
    g.beginPath();
    g.strokeStyle = colour;
    g.lineWidth = 1.5;
    points.forEach((p, i) => (i === 0 ? g.moveTo(x(p.t), y(p[key])) : g.lineTo(x(p.t), y(p[key]))));
    g.stroke();
  }
  canvas.title = "peak " + rateText(peak) + " jobs/s over the last " + duration(span);
}

// ---- queues and workers ----

function chartFor(queue) {
  let canvas = state.charts.get(queue);
  if (!canvas) {
    canvas = element("canvas", null, { class: "rate-chart", "data-chart": queue, width: "140", height: "28" });
    state.charts.set(queue, canvas);
  }
  return canvas;
}

function queueRow(queue) {
  const row = element("tr", null, { "data-queue": queue.queue });
  row.append(cell(queue.queue, "queue", "name"), cell(queue.pending, "pending", "num"),
             cell(queue.delayed, "delayed", "num"), cell(queue.in_flight, "in_flight", "num"),
             cell(queue.dead, "dead", "num" + (queue.dead > 0 ? " alert" : "")), cell(queue.done, "done", "num"),
             cell(queue.failed, "failed", "num"), cell(duration(queue.oldest_pending_ms), "oldest_pending_ms", "num"));
  const points = rates(state.history.get(queue.queue) || []);
  const last = points[points.length - 1];
  const chartCell = element("td", null, { class: "rates" });
  const canvas = chartFor(queue.queue);
  canvas.dataset.doneRate = last ? last.done.toFixed(2) : "";
  canvas.dataset.failedRate = last ? last.failed.toFixed(2) : "";
  canvas.dataset.points = points.length;
  chartCell.append(canvas, element("span", last ? rateText(last.done) + " · " + rateText(last.failed) + " /s" : "…",
                                   { "data-field": "rates", class: "rate-text" }));
  row.append(chartCell);
  const control = element("td");
  control.append(element("span", queue.paused ? "paused" : "running",
                         { "data-field": "paused", class: queue.paused ? "badge paused" : "badge" }));
  control.append(queue.paused
    ? button("Resume", "resume", () => act("POST", "/api/v1/queues/" + enc(queue.queue) + "/resume"))
    : button("Pause", "pause", () => act("POST", "/api/v1/queues/" + enc(queue.queue) + "/pause")));
  row.append(control);
  return row;
}

function renderQueues(stats, now) {
  const body = $("queues").tBodies[0];
  const queues = [...stats.queues].sort((a, b) => a.queue.localeCompare(b.queue));
  syncRows(body, queues, (queue) => queue.queue, queueRow);
  for (const queue of queues) drawChart(state.charts.get(queue.queue), state.history.get(queue.queue) || [], now);
  $("queues-empty").hidden = queues.length > 0;
}

function renderWorkers(stats) {
  const body = $("workers").tBodies[0];
  const workers = [...stats.workers].sort((a, b) => a.worker.localeCompare(b.worker));
  syncRows(body, workers, (worker) => worker.worker, (worker) => {
    const row = element("tr", null, { "data-worker": worker.worker });
    row.append(cell(worker.worker, "worker", "name"), cell(worker.queues.join(", "), "queues"),
               cell(duration(worker.last_heartbeat_ago_ms), "last_heartbeat_ago_ms", "num"),
               cell(worker.in_flight + " / " + worker.capacity +
                    (worker.held_ready ? " (" + worker.held_ready + " ready)" : ""), "in_flight", "num"),
               cell(worker.done, "done", "num"), cell(worker.failed, "failed", "num"),
               cell(worker.draining ? "draining" : "serving", "draining"));
    return row;
  });
  $("workers-empty").hidden = workers.length > 0;
}

function renderHeader(stats) {
  $("broker-version").textContent = "v" + stats.version;
  $("broker-uptime").textContent = "up " + duration(stats.uptime_ms);
}

function renderDeadChoices(stats) {
  const select = $("dead-queue");
  const names = stats.queues.map((queue) => queue.queue).sort();
  if (state.deadQueue === null || !names.includes(state.deadQueue)) {
    const withDead = stats.queues.filter((queue) => queue.dead > 0).map((queue) => queue.queue).sort();
    state.deadQueue = withDead[0] || names[0] || null;
  }
  const current = [...select.options].map((option) => option.value);
  if (current.join("\n") !== names.join("\n")) {
    select.replaceChildren(...names.map((name) => element("option", name, { value: name })));
  }
  if (state.deadQueue !== null) select.value = state.deadQueue;
}

// ---- the dead set ----

const enc = encodeURIComponent;

function deadRow(queue, job) {
  const row = element("tr", null, { "data-job-id": job.id });
  row.append(cell(job.id, "id", "name"), cell(job.attempt, "attempt", "num"),
             cell(duration(job.died_ago_ms) + " ago", "died_ago_ms", "num"), cell(job.payload_bytes, "payload_bytes", "num"),
             cell(job.error === null ? "–" : job.error, "error", "error-text"));
  const actions = element("td", null, { class: "actions" });
  actions.append(
    button("Retry", "retry", () => act("POST", "/api/v1/jobs/" + enc(job.id) + "/retry")),
    button("Purge", "purge", () => {
      if (confirm("Purge job " + job.id + " from the dead set of " + queue + "? This cannot be undone.")) {
        act("DELETE", "/api/v1/queues/" + enc(queue) + "/dead/" + enc(job.id));
      }
    }, "danger"));
  row.append(actions);
  return row;
}

async function refreshDead() {
  const queue = state.deadQueue;
  const body = $("dead-jobs").tBodies[0];
  $("dead-retry-all").disabled = queue === null;
  $("dead-purge-all").disabled = queue === null;
  if (queue === null) {
    body.replaceChildren();
    $("dead-total").textContent = "";
    $("dead-empty").hidden = false;
    return;
  }
  const dead = await api("GET", "/api/v1/queues/" + enc(queue) + "/dead?limit=" + DEAD_LIMIT);
  if (queue !== state.deadQueue) return;
  syncRows(body, dead.jobs, (job) => job.id, (job) => deadRow(queue, job));
  $("dead-total").textContent = dead.total > dead.jobs.length
    ? dead.total + " jobs, newest " + dead.jobs.length + " shown" : dead.total + (dead.total === 1 ? " job" : " jobs");
  $("dead-total").dataset.total = dead.total;
  $("dead-empty").hidden = dead.total > 0;
}

// ---- job search ----

const JOB_FIELDS = [
  ["id", "id"], ["queue", "queue"], ["state", "state"], ["attempt", "attempt"], ["max_attempts", "max attempts"],
  ["priority", "priority"], ["ready_in_ms", "ready in"], ["worker", "worker"], ["progress", "progress"],
  ["progress_message", "progress message"], ["created_at_ms", "created"], ["started_at_ms", "started"],
  ["finished_at_ms", "finished"], ["error", "error"], ["result", "result"], ["result_base64", "result (base64)"],
];

function jobValue(key, value) {
  if (value === null || value === undefined) return "–";
  if (key.endsWith("_at_ms")) return timeOfDay(value);
  if (key.endsWith("_ms")) return duration(value);
  if (key === "progress") return value + " %";
  return String(value);
}

function renderJob(job) {
  const list = $("job-status");
  const items = [];
  for (const [key, label] of JOB_FIELDS) {
    if (!(key in job) || (job[key] === null && key !== "state")) continue;
    items.push(element("dt", label), element("dd", jobValue(key, job[key]), { "data-field": key }));
  }
  if (Array.isArray(job.errors) && job.errors.length > 0) {
    const history = element("ol", null, { "data-field": "errors" });
    for (const entry of job.errors) history.append(element("li", "attempt " + entry.attempt + ": " + entry.error));
    const dd = element("dd");
    dd.append(history);
    items.push(element("dt", "errors"), dd);
  }
  list.replaceChildren(...items);
  list.dataset.state = job.state;
  list.hidden = false;
}

async function searchJob(event) {
  event.preventDefault();
  const id = $("job-id").value.trim();
  if (!id) return;
  try {
    renderJob(await api("GET", "/api/v1/jobs/" + enc(id)));
    showError(null);
  } catch (error) {
    $("job-status").hidden = true;
    showError(error);
  }
}

// ---- actions and the poll ----

async function act(method, path) {
  try {
    await api(method, path);
    showError(null);
  } catch (error) {
    showError(error);
  }
  await poll();
}

async function poll() {
  if (state.busy) {
    state.pollAgain = true;
    return;
  }
  state.busy = true;
  state.pollAgain = false;
  const indicator = $("poll-state");
  try {
    const stats = await api("GET", "/api/v1/stats");
    const now = Date.now();
    recordRates(stats, now);
    renderHeader(stats);
    renderQueues(stats, now);
    renderWorkers(stats);
    renderDeadChoices(stats);
    await refreshDead();
    indicator.dataset.state = "live";
    indicator.textContent = "live · " + new Date(now).toLocaleTimeString();
    showTokenForm(false);
    if ($("error").dataset.from === "poll") showError(null, "poll");
  } catch (error) {
    indicator.dataset.state = "failing";
    indicator.textContent = "not updating";
    showError(error, "poll");
  } finally {
    state.busy = false;
  }
  if (state.pollAgain) poll();
}

function bulk(kind) {
  const queue = state.deadQueue;
  if (queue === null) return;
  if (kind === "retry") {
    if (confirm("Retry every job in the dead set of " + queue + "?")) act("POST", "/api/v1/queues/" + enc(queue) + "/dead/retry");
  } else if (confirm("Purge every job in the dead set of " + queue + "? This cannot be undone.")) {
    act("DELETE", "/api/v1/queues/" + enc(queue) + "/dead");
  }
}

function start() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    $("token-input").value = "";
    poll();
  });
  $("job-search").addEventListener("submit", searchJob);
  $("dead-queue").addEventListener("change", (event) => {
    state.deadQueue = event.target.value;
    refreshDead().catch((error) => showError(error));
  });
  $("dead-retry-all").addEventListener("click", () => bulk("retry"));
  $("dead-purge-all").addEventListener("click", () => bulk("purge"));
  poll();
  setInterval(poll, POLL_MS);
}

document.addEventListener("DOMContentLoaded", start);
