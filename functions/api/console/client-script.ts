/**
 * The console's browser code (SPEC §10): one plain ES module, served as is at
 * `/console/app.js` (no build step). It calls only the public routes of SPEC §4 with the key the
 * person signed in with, kept in sessionStorage. Everything the service returns (task text,
 * output, results, diffs: model output) goes into the page as text (`textContent`, `append` of
 * strings), never as markup: there is no innerHTML here.
 *
 * Kept free of backticks and dollar-brace so that it lives in this template string unchanged.
 */
export const CLIENT_SCRIPT = String.raw`"use strict";
const KEY_ITEM = "bga.console.apiKey";
const ADMIN_ITEM = "bga.console.adminToken";
const ADMIN_POLL_MS = 5000;
const POLL_MS = 2000;
const PAGE = 25;
const STATUSES = ["pending", "running", "completed", "failed", "stopped"];
const STATUS_ICON = { pending: "○", running: "▶", completed: "✓", failed: "✕", stopped: "■" };
const FINISHED = new Set(["completed", "failed", "stopped"]);
const numbers = new Intl.NumberFormat("en-US");
const times = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

const state = {
  key: null,
  agents: [],
  agentsLoaded: false,
  tasks: new Map(),
  rows: new Map(),
  cursor: null,
  olderLoaded: false,
  pollTimer: 0,
  pollGeneration: 0,
  polling: false,
  view: null,
  runIdempotencyKey: null,
  adminToken: null,
  adminTimer: 0,
};

const $ = (id) => document.getElementById(id);

/** An element with attributes and children; strings become text nodes, never markup. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra) {
  const credential = state.adminToken || state.key;
  return Object.assign({ authorization: "Bearer " + credential, accept: "application/json" }, extra || {});
}

/** A public route with the signed-in key; errors carry the service's own message. */
async function api(method, path, body, extra) {
  const init = { method, headers: headers(extra), cache: "no-store" };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "Could not reach the service. Check your connection and try again.");
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = json && json.error;
    const message = e && e.message ? e.message : "The service answered " + res.status + " " + res.statusText;
    throw new ApiError(res.status, e && e.code ? e.code : "http_" + res.status, message);
  }
  return json;
}

/** A 401 once signed in: the key was revoked or the tenant removed. */
function handleAuthFailure(err) {
  if (err instanceof ApiError && err.status === 401 && state.adminToken) {
    signOut("The admin token is no longer accepted. Sign in again.");
    return true;
  }
  if (err instanceof ApiError && err.status === 401 && state.key) {
    signOut("Your API key is no longer accepted. Sign in again with a valid key.");
    return true;
  }
  return false;
}

// ---------- formatting ----------

function formatDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 1000) return Math.round(ms) + " ms";
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " m " + String(Math.floor(s % 60)).padStart(2, "0") + " s";
  return Math.floor(m / 60) + " h " + String(m % 60).padStart(2, "0") + " m";
}

function runtimeOf(task) {
  if (task.runtime_ms !== null && task.runtime_ms !== undefined) return task.runtime_ms;
  if (task.status === "pending") return null;
  const start = Date.parse(task.started_at || task.created_at);
  return Number.isFinite(start) ? Math.max(0, Date.now() - start) : null;
}

function tokensOf(task) {
  const u = task.usage || {};
  return (u.input_tokens || 0) + (u.output_tokens || 0);
}

function formatTime(iso) {
  if (!iso) return "–";
  const t = Date.parse(iso);
  return Number.isFinite(t) ? times.format(t) : iso;
}

function statusBadge(status) {
  const known = STATUSES.includes(status) ? status : "unknown";
  return h(
    "span",
    { class: "status s-" + known },
    h("span", { class: "status-icon", "aria-hidden": "true" }, STATUS_ICON[known] || "?"),
    h("span", { class: "status-text" }, status),
  );
}

function taskHref(id) {
  return "#/tasks/" + encodeURIComponent(id);
}

function agentKind(name) {
  const agent = state.agents.find((a) => a.name === name);
  return agent ? agent.kind : "unknown";
}

// ---------- sign in ----------

function showSignIn(message) {
  $("app").hidden = true;
  $("account").hidden = true;
  $("signin").hidden = false;
  const error = $("signin-error");
  error.hidden = !message;
  setText(error, message || "");
  $("key").focus();
}

async function signIn(key) {
  const error = $("signin-error");
  const button = $("signin-button");
  error.hidden = true;
  if (!key) {
    error.hidden = false;
    setText(error, "Enter your API key.");
    return;
  }
  button.disabled = true;
  state.key = key;
  try {
    const body = await api("GET", "/v1/agents");
    state.agents = body.agents;
    state.agentsLoaded = true;
  } catch (err) {
    state.key = null;
    error.hidden = false;
    setText(
      error,
      err.status === 401
        ? "That API key was not accepted. Check that you pasted the whole key (npm start prints it; it is kept in .bga/api-key)."
        : "Could not sign in: " + err.message,
    );
    $("key").select();
    return;
  } finally {
    button.disabled = false;
  }
  sessionStorage.setItem(KEY_ITEM, key);
  $("key").value = "";
  enterApp();
}

function signOut(message) {
  sessionStorage.removeItem(KEY_ITEM);
  sessionStorage.removeItem(ADMIN_ITEM);
  state.key = null;
  state.adminToken = null;
  clearTimeout(state.adminTimer);
  state.adminTimer = 0;
  $("admin-view").hidden = true;
  $("tenant-rows").replaceChildren();
  state.agents = [];
  state.agentsLoaded = false;
  closeTaskView();
  stopPolling();
  state.tasks.clear();
  state.rows.clear();
  $("task-rows").replaceChildren();
  showSignIn(message);
}

function enterApp() {
  $("run-error").hidden = true;
  $("signin").hidden = true;
  $("app").hidden = false;
  $("account").hidden = false;
  fillAgentChoices();
  route();
}

/** A stored key (a reload): the list starts loading at once, the agents alongside. */
async function resume(key) {
  state.key = key;
  enterApp();
  try {
    const body = await api("GET", "/v1/agents");
    state.agents = body.agents;
    state.agentsLoaded = true;
    fillAgentChoices();
  } catch (err) {
    if (handleAuthFailure(err)) return;
    $("run-error").hidden = false;
    setText($("run-error"), err.message);
  }
}

// ---------- admin view (the admin token; SPEC §7) ----------

async function adminSignIn(token) {
  const error = $("admin-error");
  const button = $("admin-button");
  error.hidden = true;
  if (!token) {
    error.hidden = false;
    setText(error, "Enter the admin token.");
    return;
  }
  button.disabled = true;
  state.adminToken = token;
  let body;
  try {
    body = await api("GET", "/v1/admin/tenants");
  } catch (err) {
    state.adminToken = null;
    error.hidden = false;
    setText(
      error,
      err.status === 401
        ? "That admin token was not accepted (locally it is BGA_ADMIN_TOKEN)."
        : "Could not sign in: " + err.message,
    );
    $("admin-token").select();
    return;
  } finally {
    button.disabled = false;
  }
  sessionStorage.setItem(ADMIN_ITEM, token);
  $("admin-token").value = "";
  enterAdmin(body.tenants);
}

function enterAdmin(tenants) {
  $("signin").hidden = true;
  $("app").hidden = true;
  $("account").hidden = false;
  $("admin-view").hidden = false;
  if (tenants) renderTenants(tenants);
  const tick = async () => {
    if (!state.adminToken) return;
    if (!document.hidden || !tenants) {
      try {
        renderTenants((await api("GET", "/v1/admin/tenants")).tenants);
      } catch (err) {
        if (handleAuthFailure(err)) return;
        $("admin-note").hidden = false;
        $("admin-note").className = "note error";
        setText($("admin-note"), err.message);
      }
    }
    tenants = null;
    if (state.adminToken) state.adminTimer = setTimeout(tick, ADMIN_POLL_MS);
  };
  state.adminTimer = setTimeout(tick, tenants ? ADMIN_POLL_MS : 0);
}

function formatBytes(n) {
  if (n >= 1024 * 1024) return numbers.format(Math.round((n / 1024 / 1024) * 10) / 10) + " MiB";
  if (n >= 1024) return numbers.format(Math.round((n / 1024) * 10) / 10) + " KiB";
  return numbers.format(n) + " B";
}

function renderTenants(tenants) {
  $("admin-note").hidden = tenants.length > 0;
  $("admin-note").className = "note";
  setText($("admin-note"), tenants.length ? "" : "No tenants yet.");
  $("tenant-rows").replaceChildren(
    ...tenants.map((t) => {
      const l = t.limits;
      const running = t.running_tasks === undefined ? "?" : numbers.format(t.running_tasks);
      const full = t.running_tasks !== undefined && t.running_tasks >= l.max_running_tasks;
      return h(
        "tr",
        { class: "tenant-row", "data-id": t.id },
        h("td", { "data-label": "Tenant", class: "id mono" }, t.id),
        h("td", { "data-label": "Agents" }, t.agents.join(", ") || "–"),
        h(
          "td",
          { "data-label": "Running", class: "num" + (t.running_tasks ? " busy" : "") },
          running + " / " + numbers.format(l.max_running_tasks) + (full ? " (full)" : ""),
        ),
        h("td", { "data-label": "Max task time", class: "num" }, formatDuration(l.max_task_seconds * 1000)),
        h("td", { "data-label": "Max output", class: "num" }, formatBytes(l.max_output_bytes)),
        h("td", { "data-label": "Max task text", class: "num" }, formatBytes(l.max_task_bytes)),
        h("td", { "data-label": "Retention", class: "num" }, l.retention_days + " days"),
        h("td", { "data-label": "Created" }, formatTime(t.created_at)),
      );
    }),
  );
  setText($("admin-updated"), "updated " + new Date().toLocaleTimeString());
}

// ---------- routing ----------

function route() {
  if (!state.key) return;
  const match = /^#\/tasks\/([^/]+)$/.exec(location.hash);
  if (match) {
    $("list-view").hidden = true;
    stopPolling();
    openTaskView(decodeURIComponent(match[1]));
  } else {
    closeTaskView();
    $("task-view").hidden = true;
    $("list-view").hidden = false;
    startPolling();
  }
}

// ---------- run form ----------

function fillAgentChoices() {
  const select = $("run-agent");
  const previous = select.value;
  select.replaceChildren(
    ...state.agents.map((a) =>
      h("option", { value: a.name }, a.description ? a.name + " — " + a.description : a.name),
    ),
  );
  if (state.agents.some((a) => a.name === previous)) select.value = previous;
  $("run-button").disabled = !state.agentsLoaded || state.agents.length === 0;
  $("run-empty").hidden = !state.agentsLoaded || state.agents.length > 0;
  const filter = $("filter-agent");
  const chosen = filter.value;
  filter.replaceChildren(
    h("option", { value: "" }, "All agents"),
    ...state.agents.map((a) => h("option", { value: a.name }, a.name)),
  );
  filter.value = state.agents.some((a) => a.name === chosen) ? chosen : "";
}

async function runTask(event) {
  event.preventDefault();
  const error = $("run-error");
  const button = $("run-button");
  error.hidden = true;
  const body = { agent: $("run-agent").value, task: $("run-task").value };
  const expected = $("run-expected").value.trim();
  if (expected) body.expected_output = expected;
  if (!body.task.trim()) {
    error.hidden = false;
    setText(error, "Describe the task to run.");
    $("run-task").focus();
    return;
  }
  // One key per filled-in form: a double click or a retry after a lost answer starts one task.
  if (!state.runIdempotencyKey && crypto.randomUUID) state.runIdempotencyKey = crypto.randomUUID();
  const extra = state.runIdempotencyKey ? { "idempotency-key": state.runIdempotencyKey } : {};
  button.disabled = true;
  try {
    const task = await api("POST", "/v1/tasks", body, extra);
    state.runIdempotencyKey = null;
    $("run-task").value = "";
    $("run-expected").value = "";
    mergeTasks([task]);
    location.hash = taskHref(task.id);
  } catch (err) {
    if (handleAuthFailure(err)) return;
    error.hidden = false;
    setText(error, err.message);
  } finally {
    button.disabled = false;
  }
}

// ---------- task list ----------

function filters() {
  return { status: $("filter-status").value, agent: $("filter-agent").value };
}

function listPath(cursor) {
  const q = new URLSearchParams({ limit: String(PAGE) });
  const f = filters();
  if (f.status) q.set("status", f.status);
  if (f.agent) q.set("agent", f.agent);
  if (cursor) q.set("cursor", cursor);
  return "/v1/tasks?" + q.toString();
}

function newestFirst(a, b) {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function mergeTasks(tasks) {
  for (const t of tasks) state.tasks.set(t.id, t);
}

async function refreshList() {
  const f = filters();
  let page;
  try {
    page = await api("GET", listPath(null));
  } catch (err) {
    if (handleAuthFailure(err)) return;
    showListNote(err.message, true);
    return;
  }
  // The filters may have changed while the request was out: drop its answer then.
  const now = filters();
  if (now.status !== f.status || now.agent !== f.agent) return;
  // Within the span the first page covers, it is the truth: a task that left the filter goes.
  const fresh = new Set(page.tasks.map((t) => t.id));
  const oldest = page.tasks[page.tasks.length - 1];
  for (const [id, t] of state.tasks) {
    if (!fresh.has(id) && (!oldest || newestFirst(t, oldest) <= 0)) state.tasks.delete(id);
  }
  mergeTasks(page.tasks);
  if (!state.olderLoaded) state.cursor = page.next_cursor;
  renderList();
}

async function loadOlder() {
  if (!state.cursor) return;
  const button = $("load-older");
  button.disabled = true;
  try {
    const page = await api("GET", listPath(state.cursor));
    state.olderLoaded = true;
    state.cursor = page.next_cursor;
    mergeTasks(page.tasks);
    renderList();
  } catch (err) {
    if (!handleAuthFailure(err)) showListNote(err.message, true);
  } finally {
    button.disabled = false;
  }
}

function showListNote(text, isError) {
  const note = $("list-note");
  note.hidden = !text;
  note.className = isError ? "note error" : "note";
  setText(note, text || "");
}

function rowFor(task) {
  let row = state.rows.get(task.id);
  if (!row) {
    const cell = (label, cls) => h("td", { "data-label": label, class: cls });
    row = h(
      "tr",
      { class: "task-row", "data-id": task.id },
      h("td", { "data-label": "ID", class: "id" }, h("a", { href: taskHref(task.id), class: "mono" }, task.id)),
      cell("Agent", "agent"),
      cell("Caller", "caller"),
      cell("Status", "status-cell"),
      cell("Runtime", "num runtime"),
      cell("Tokens", "num tokens"),
      cell("Created", "created"),
    );
    row.addEventListener("click", (event) => {
      if (event.target instanceof Element && event.target.closest("a")) return;
      location.hash = taskHref(task.id);
    });
    state.rows.set(task.id, row);
  }
  const cells = row.children;
  setText(cells[1], task.agent);
  setText(cells[2], task.caller);
  if (cells[3].dataset.status !== task.status) {
    cells[3].dataset.status = task.status;
    cells[3].replaceChildren(statusBadge(task.status));
  }
  setText(cells[4], formatDuration(runtimeOf(task)));
  setText(cells[5], numbers.format(tokensOf(task)));
  cells[5].title = numbers.format(task.usage.input_tokens) + " in, " + numbers.format(task.usage.output_tokens) + " out";
  setText(cells[6], formatTime(task.created_at));
  return row;
}

function renderList() {
  const body = $("task-rows");
  const tasks = [...state.tasks.values()].sort(newestFirst);
  const keep = new Set(tasks.map((t) => t.id));
  for (const [id, row] of state.rows) {
    if (!keep.has(id)) {
      row.remove();
      state.rows.delete(id);
    }
  }
  tasks.forEach((task, i) => {
    const row = rowFor(task);
    if (body.children[i] !== row) body.insertBefore(row, body.children[i] || null);
  });
  $("task-table").hidden = tasks.length === 0;
  $("load-older").hidden = !state.cursor;
  const f = filters();
  showListNote(
    tasks.length === 0
      ? f.status || f.agent
        ? "No tasks match these filters."
        : "No tasks yet. Run one with the form above."
      : "",
    false,
  );
  $("list-updated").dateTime = new Date().toISOString();
  setText($("list-updated"), "updated " + new Date().toLocaleTimeString());
}

function resetList() {
  state.tasks.clear();
  state.cursor = null;
  state.olderLoaded = false;
  renderList();
  void refreshList();
}

/** Refreshes the list now, then every POLL_MS while the tab is visible, until stopPolling. */
function startPolling() {
  stopPolling();
  const generation = ++state.pollGeneration;
  state.polling = true;
  const tick = async () => {
    if (generation !== state.pollGeneration) return;
    if (!document.hidden) await refreshList();
    if (generation === state.pollGeneration) state.pollTimer = setTimeout(tick, POLL_MS);
  };
  void tick();
}

function stopPolling() {
  state.pollGeneration++;
  state.polling = false;
  clearTimeout(state.pollTimer);
}

// ---------- task view ----------

function closeTaskView() {
  if (state.view) {
    state.view.closed = true;
    state.view.abort.abort();
    state.view = null;
  }
}

function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

function openTaskView(id) {
  if (state.view && state.view.id === id) return;
  closeTaskView();
  const container = $("task-view");
  container.hidden = false;
  const view = {
    id,
    closed: false,
    abort: new AbortController(),
    task: state.tasks.get(id) || null,
    lastSeq: 0,
    changesLoaded: false,
    el: {},
  };
  state.view = view;
  const el = view.el;
  el.status = h("span", { class: "view-status" });
  el.stop = h("button", { type: "button", class: "danger", hidden: true, onclick: () => stopTask(view) }, "Stop");
  el.meta = h("dl", { class: "meta" });
  el.task = h("pre", { class: "text" });
  el.expected = h("pre", { class: "text" });
  el.expectedBox = h("div", { hidden: true }, h("h3", {}, "Expected output"), el.expected);
  el.live = h("span", { class: "live", role: "status" });
  el.output = h("pre", { class: "output", id: "output", tabindex: "0", "aria-label": "Output" });
  el.outcome = h("section", { class: "card", hidden: true });
  el.changes = h("section", { class: "card", hidden: true });
  el.error = h("p", { class: "note error", role: "alert", hidden: true });
  container.replaceChildren(
    h("nav", { class: "crumbs" }, h("a", { href: "#/" }, "← All tasks")),
    h(
      "header",
      { class: "view-head" },
      h("h1", { tabindex: "-1" }, h("span", { class: "sr" }, "Task "), h("code", { class: "task-id", id: "task-id" }, id)),
      el.status,
      el.stop,
    ),
    el.error,
    h("section", { class: "card" }, el.meta),
    section("Task", el.task, el.expectedBox),
    h(
      "section",
      { class: "card" },
      h("div", { class: "section-head" }, h("h2", {}, "Output"), el.live),
      el.output,
    ),
    el.outcome,
    el.changes,
  );
  if (view.task) renderTask(view);
  void loadTask(view);
  void follow(view);
  container.querySelector("h1").focus({ preventScroll: true });
}

async function loadTask(view) {
  try {
    const task = await api("GET", "/v1/tasks/" + encodeURIComponent(view.id));
    if (!view.closed) updateTask(view, task);
  } catch (err) {
    if (handleAuthFailure(err) || view.closed) return;
    view.el.error.hidden = false;
    setText(view.el.error, err.status === 404 ? "No task " + view.id + " for this key." : err.message);
    setLive(view, "");
  }
}

function updateTask(view, task) {
  view.task = task;
  mergeTasks([task]);
  renderTask(view);
}

function metaItem(term, value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value));
}

function renderTask(view) {
  const t = view.task;
  const el = view.el;
  el.status.replaceChildren(statusBadge(t.status));
  el.stop.hidden = FINISHED.has(t.status);
  const u = t.usage;
  el.meta.replaceChildren(
    metaItem("Agent", t.agent),
    metaItem("Caller", t.caller),
    metaItem("Created", formatTime(t.created_at)),
    metaItem("Started", formatTime(t.started_at)),
    metaItem("Ended", formatTime(t.ended_at)),
    metaItem("Runtime", formatDuration(runtimeOf(t))),
    metaItem("Input tokens", numbers.format(u.input_tokens)),
    metaItem("Output tokens", numbers.format(u.output_tokens)),
    metaItem("Model calls", numbers.format(u.model_calls)),
    metaItem("Tool calls", numbers.format(u.tool_calls)),
  );
  setText(el.task, t.task);
  el.expectedBox.hidden = !t.expected_output;
  setText(el.expected, t.expected_output || "");
  if (FINISHED.has(t.status)) {
    el.outcome.hidden = false;
    if (t.status === "completed") {
      el.outcome.className = "card outcome ok";
      el.outcome.replaceChildren(h("h2", {}, "Result"), h("pre", { class: "text result" }, t.result || "(empty)"));
    } else if (t.status === "failed") {
      el.outcome.className = "card outcome bad";
      el.outcome.replaceChildren(h("h2", {}, "Error"), h("pre", { class: "text" }, t.error || "(no message)"));
    } else {
      el.outcome.className = "card outcome stopped";
      el.outcome.replaceChildren(h("h2", {}, "Stopped"), h("p", {}, "This task was stopped before it finished."));
    }
    if (!view.changesLoaded) {
      view.changesLoaded = true;
      void loadChanges(view);
    }
  } else {
    el.outcome.hidden = true;
  }
}

function setLive(view, mode) {
  const labels = { live: "● live", reconnecting: "reconnecting…", ended: "", "": "" };
  view.el.live.className = "live " + mode;
  setText(view.el.live, labels[mode] || "");
}

function appendChunk(view, chunk) {
  const out = view.el.output;
  const atBottom = out.scrollHeight - out.scrollTop - out.clientHeight < 24;
  if (chunk.kind === "text") out.append(chunk.text);
  else out.append(h("span", { class: "chunk k-" + chunk.kind }, chunk.text));
  if (atBottom) out.scrollTop = out.scrollHeight;
}

/**
 * Follows GET /v1/tasks/{id}/events with fetch (EventSource cannot send the key in a header),
 * and after a dropped connection resumes from the last chunk seen, with Last-Event-ID.
 */
async function follow(view) {
  let delay = 500;
  while (!view.closed) {
    try {
      const extra = { accept: "text/event-stream" };
      if (view.lastSeq > 0) extra["last-event-id"] = String(view.lastSeq);
      const res = await fetch("/v1/tasks/" + encodeURIComponent(view.id) + "/events", {
        headers: headers(extra),
        signal: view.abort.signal,
        cache: "no-store",
      });
      if (res.status === 401) {
        handleAuthFailure(new ApiError(401, "unauthorized", ""));
        return;
      }
      if (res.status === 404) return;
      if (!res.ok || !res.body) throw new Error("events: " + res.status);
      setLive(view, "live");
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          handleEvent(view, buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
        }
        delay = 500;
      }
      if (view.task && FINISHED.has(view.task.status)) {
        setLive(view, "ended");
        return;
      }
    } catch {
      if (view.closed) return;
    }
    if (view.closed) return;
    setLive(view, "reconnecting");
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 8000);
  }
}

function handleEvent(view, block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0 || view.closed) return;
  let payload;
  try {
    payload = JSON.parse(data.join("\n"));
  } catch {
    return;
  }
  if (event === "chunk") {
    if (payload.seq <= view.lastSeq) return;
    view.lastSeq = payload.seq;
    appendChunk(view, payload);
  } else if (event === "status" && payload.task) {
    updateTask(view, payload.task);
    // The status is read before the chunks: a finished one comes after the last chunk.
    if (FINISHED.has(payload.task.status)) setLive(view, "ended");
  }
}

async function stopTask(view) {
  const button = view.el.stop;
  button.disabled = true;
  try {
    updateTask(view, await api("POST", "/v1/tasks/" + encodeURIComponent(view.id) + "/stop"));
  } catch (err) {
    if (handleAuthFailure(err)) return;
    if (err.code === "task_not_running") await loadTask(view);
    else {
      view.el.error.hidden = false;
      setText(view.el.error, err.message);
    }
  } finally {
    button.disabled = false;
  }
}

// ---------- changes (harness tasks, SPEC §9) ----------

async function loadChanges(view) {
  const kind = agentKind(view.task.agent);
  if (kind === "model") return;
  const box = view.el.changes;
  let changes;
  try {
    changes = await api("GET", "/v1/tasks/" + encodeURIComponent(view.id) + "/changes");
  } catch (err) {
    if (handleAuthFailure(err) || view.closed) return;
    if (err.status === 404) {
      if (kind === "harness") {
        box.hidden = false;
        box.replaceChildren(h("h2", {}, "Changes"), h("p", { class: "note" }, "No changes."));
      }
      return;
    }
    box.hidden = false;
    box.replaceChildren(h("h2", {}, "Changes"), h("p", { class: "note error" }, err.message));
    return;
  }
  if (view.closed) return;
  box.hidden = false;
  const files = changes.files || [];
  const adds = files.reduce((n, f) => n + (f.additions || 0), 0);
  const dels = files.reduce((n, f) => n + (f.deletions || 0), 0);
  const marks = { added: "A", modified: "M", deleted: "D", renamed: "R" };
  box.replaceChildren(
    h("h2", {}, "Changes"),
    h(
      "p",
      { class: "note" },
      files.length + (files.length === 1 ? " file" : " files") + " changed ",
      h("span", { class: "add" }, "+" + adds),
      " ",
      h("span", { class: "del" }, "−" + dels),
      changes.base ? " against " + changes.base : "",
    ),
    h(
      "ul",
      { class: "files" },
      files.map((f) =>
        h(
          "li",
          {},
          h("span", { class: "file-mark m-" + f.status, title: f.status }, marks[f.status] || "?"),
          h("span", { class: "mono path" }, f.path),
          h("span", { class: "add" }, "+" + f.additions),
          h("span", { class: "del" }, "−" + f.deletions),
        ),
      ),
    ),
    h("h3", {}, "Diff"),
    renderPatch(changes.patch || ""),
  );
}

function renderPatch(patch) {
  const pre = h("pre", { class: "diff", tabindex: "0", "aria-label": "Diff" });
  for (const line of patch.split("\n")) {
    let cls = "";
    if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff ")) cls = "d-file";
    else if (line.startsWith("@@")) cls = "d-hunk";
    else if (line.startsWith("+")) cls = "d-add";
    else if (line.startsWith("-")) cls = "d-del";
    pre.append(h("span", { class: "d-line " + cls }, line + "\n"));
  }
  return pre;
}

// ---------- start ----------

function init() {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void signIn($("key").value.trim());
  });
  $("signout").addEventListener("click", () => signOut(""));
  $("admin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void adminSignIn($("admin-token").value.trim());
  });
  $("run-form").addEventListener("submit", runTask);
  for (const id of ["run-task", "run-expected"]) {
    $(id).addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("run-form").requestSubmit();
    });
  }
  for (const id of ["run-agent", "run-task", "run-expected"]) {
    $(id).addEventListener("input", () => {
      state.runIdempotencyKey = null;
    });
  }
  $("filter-status").addEventListener("change", resetList);
  $("filter-agent").addEventListener("change", resetList);
  $("load-older").addEventListener("click", loadOlder);
  window.addEventListener("hashchange", route);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.polling) void refreshList();
  });
  const adminToken = sessionStorage.getItem(ADMIN_ITEM);
  const key = sessionStorage.getItem(KEY_ITEM);
  if (adminToken) {
    state.adminToken = adminToken;
    enterAdmin(null);
  } else if (key) void resume(key);
  else showSignIn("");
}

init();
`;
