/**
 * The console's page and style sheet (SPEC §10): static text, no inline script or style (the
 * Content-Security-Policy of routes.ts forbids both). `page` takes the URLs of the two assets,
 * which carry a hash of their content so that browsers may keep them.
 */
export function page(assets: { script: string; style: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Background Agents · Team console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assets.style}">
<script type="module" src="${assets.script}"></script>
</head>
<body>
<header class="top">
  <span class="brand"><span class="logo" aria-hidden="true">◆</span> Background Agents <span class="dim">console</span></span>
  <span id="account" hidden><button id="signout" type="button" class="quiet">Sign out</button></span>
</header>
<main>
  <noscript><p class="note error">The console needs JavaScript.</p></noscript>
  <section id="signin" class="card signin" hidden>
    <h1>Sign in</h1>
    <p class="dim">Your team's API key. It is kept in this browser tab only, and forgotten when the tab closes.</p>
    <form id="signin-form" autocomplete="off">
      <label for="key">API key</label>
      <input id="key" type="password" spellcheck="false" autocapitalize="off" placeholder="bga_…">
      <button id="signin-button" type="submit" class="primary">Sign in</button>
      <p id="signin-error" class="note error" role="alert" hidden></p>
    </form>
    <details class="admin-signin">
      <summary>Operators: sign in with the admin token</summary>
      <form id="admin-form" autocomplete="off">
        <label for="admin-token">Admin token</label>
        <input id="admin-token" type="password" spellcheck="false" autocapitalize="off">
        <button id="admin-button" type="submit">Sign in as admin</button>
        <p id="admin-error" class="note error" role="alert" hidden></p>
      </form>
    </details>
  </section>
  <section id="admin-view" class="card" hidden>
    <div class="section-head">
      <h2>Tenants</h2>
      <time id="admin-updated" class="dim small"></time>
    </div>
    <p id="admin-note" class="note" hidden></p>
    <table id="tenant-table">
      <thead><tr><th scope="col">Tenant</th><th scope="col">Agents</th><th scope="col" class="num">Running</th><th scope="col" class="num">Max task time</th><th scope="col" class="num">Max output</th><th scope="col" class="num">Max task text</th><th scope="col" class="num">Retention</th><th scope="col">Created</th></tr></thead>
      <tbody id="tenant-rows"></tbody>
    </table>
  </section>
  <div id="app" hidden>
    <div id="list-view">
      <section class="card">
        <h2>Run a task</h2>
        <form id="run-form" class="run">
          <div class="field">
            <label for="run-agent">Agent</label>
            <select id="run-agent"></select>
          </div>
          <div class="field wide">
            <label for="run-task">Task</label>
            <textarea id="run-task" rows="3" placeholder="What should the agent do?"></textarea>
          </div>
          <div class="field wide">
            <label for="run-expected">Expected output</label>
            <textarea id="run-expected" rows="2" placeholder="Optional: what a good answer looks like"></textarea>
          </div>
          <div class="actions">
            <button id="run-button" type="submit" class="primary">Run</button>
            <span class="dim hint">Ctrl+Enter in a text field runs it</span>
          </div>
          <p id="run-empty" class="note" hidden>This key may not start any agent.</p>
          <p id="run-error" class="note error" role="alert" hidden></p>
        </form>
      </section>
      <section class="card">
        <div class="section-head">
          <h2>Tasks</h2>
          <time id="list-updated" class="dim small"></time>
        </div>
        <div class="filters">
          <label>Filter by status
            <select id="filter-status">
              <option value="">All statuses</option>
              <option value="pending">○ pending</option>
              <option value="running">▶ running</option>
              <option value="completed">✓ completed</option>
              <option value="failed">✕ failed</option>
              <option value="stopped">■ stopped</option>
            </select>
          </label>
          <label>Filter by agent <select id="filter-agent"></select></label>
        </div>
        <p id="list-note" class="note" hidden></p>
        <table id="task-table" hidden>
          <thead><tr><th scope="col">ID</th><th scope="col">Agent</th><th scope="col">Caller</th><th scope="col">Status</th><th scope="col" class="num">Runtime</th><th scope="col" class="num">Tokens</th><th scope="col">Created</th></tr></thead>
          <tbody id="task-rows"></tbody>
        </table>
        <button id="load-older" type="button" class="quiet" hidden>Load older tasks</button>
      </section>
    </div>
    <div id="task-view" hidden></div>
  </div>
</main>
</body>
</html>
`;
}

export const STYLE = `:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --card: #fff; --fg: #1b1f24; --dim: #5b6470; --line: #dde1e6;
  --accent: #0b5cad; --accent-fg: #fff; --focus: #f5a623;
  --ok: #00704f; --ok-bg: #e3f4ed; --bad: #b3261e; --bad-bg: #fbe9e7;
  --run: #0b5cad; --run-bg: #e4eefa; --wait: #5b6470; --wait-bg: #eceff2;
  --stop: #8a5a00; --stop-bg: #fdf1d8;
  --mono: ui-monospace, "SFMono-Regular", "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111418; --card: #1a1e24; --fg: #e6e9ed; --dim: #9aa4b0; --line: #2c323a;
    --accent: #5aa2f0; --accent-fg: #0b1320;
    --ok: #5cd3a4; --ok-bg: #12352a; --bad: #ff8a80; --bad-bg: #3d1a18;
    --run: #8cc2ff; --run-bg: #17304d; --wait: #b4bcc6; --wait-bg: #262c33;
    --stop: #ffc96b; --stop-bg: #3a2d12;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
}
.top {
  display: flex; align-items: center; justify-content: space-between; gap: 1rem;
  padding: .6rem 1.25rem; background: var(--card); border-bottom: 1px solid var(--line);
}
.brand { font-weight: 650; letter-spacing: .01em; }
.logo { color: var(--accent); }
main { max-width: 1180px; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.35rem; margin: 0 0 .5rem; }
h2 { font-size: 1.05rem; margin: 0 0 .75rem; }
h3 { font-size: .95rem; margin: 1rem 0 .4rem; }
.dim { color: var(--dim); font-weight: 400; }
.small { font-size: .85rem; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 1rem 1.25rem; margin: 0 0 1rem;
}
.signin { max-width: 28rem; margin: 3rem auto; }
.signin form { display: grid; gap: .5rem; }
label { font-weight: 600; font-size: .9rem; }
input, select, textarea, button { font: inherit; color: inherit; }
input, select, textarea {
  width: 100%; padding: .5rem .6rem; border: 1px solid var(--line); border-radius: 7px; background: var(--bg);
}
textarea { resize: vertical; }
button {
  cursor: pointer; padding: .5rem 1rem; border-radius: 7px; border: 1px solid var(--line);
  background: var(--card); font-weight: 600; white-space: nowrap;
}
button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
button.danger { background: var(--bad); color: #fff; border-color: var(--bad); }
button.quiet { background: transparent; }
button:disabled { opacity: .55; cursor: progress; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
a { color: var(--accent); }
.run { display: grid; grid-template-columns: minmax(12rem, 1fr) 3fr; gap: .75rem 1rem; align-items: start; }
.run .field { display: grid; gap: .3rem; }
.run .wide { grid-column: 2; }
.run .field:first-child { grid-row: span 2; }
.run .actions { grid-column: 2; display: flex; align-items: center; gap: 1rem; }
.run .note { grid-column: 1 / -1; }
.hint { font-size: .85rem; }
.section-head { display: flex; align-items: baseline; justify-content: space-between; gap: 1rem; }
.section-head h2 { margin-bottom: .5rem; }
.filters { display: flex; flex-wrap: wrap; gap: .75rem 1.25rem; margin-bottom: .75rem; }
.filters label { display: grid; gap: .25rem; min-width: 12rem; }
.admin-signin { margin-top: 1.25rem; border-top: 1px solid var(--line); padding-top: .75rem; }
.admin-signin summary { cursor: pointer; color: var(--dim); font-size: .9rem; }
.admin-signin form { display: grid; gap: .5rem; margin-top: .75rem; }
.busy { font-weight: 700; color: var(--run); }
.note { margin: .5rem 0; color: var(--dim); }
.note.error { color: var(--bad); background: var(--bad-bg); padding: .5rem .75rem; border-radius: 7px; font-weight: 600; }
table { width: 100%; border-collapse: collapse; font-size: .92rem; }
th { text-align: left; font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--dim); padding: .4rem .5rem; border-bottom: 1px solid var(--line); }
td { padding: .5rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.task-row { cursor: pointer; }
.task-row:hover { background: var(--bg); }
.mono, code, pre { font-family: var(--mono); }
td.id a { font-size: .85rem; word-break: break-all; }
.status {
  display: inline-flex; align-items: center; gap: .35rem; padding: .1rem .55rem .1rem .45rem;
  border-radius: 999px; font-size: .85rem; font-weight: 650; border: 1px solid currentColor; white-space: nowrap;
}
.status-icon { font-size: .8em; }
.s-pending { color: var(--wait); background: var(--wait-bg); border-style: dashed; }
.s-running { color: var(--run); background: var(--run-bg); }
.s-running .status-icon { animation: pulse 1.4s ease-in-out infinite; }
.s-completed { color: var(--ok); background: var(--ok-bg); }
.s-failed { color: var(--bad); background: var(--bad-bg); border-width: 2px; }
.s-stopped { color: var(--stop); background: var(--stop-bg); }
@keyframes pulse { 50% { opacity: .35; } }
@media (prefers-reduced-motion: reduce) { .s-running .status-icon { animation: none; } }
.crumbs { margin: 0 0 .75rem; }
.view-head { display: flex; flex-wrap: wrap; align-items: center; gap: .75rem 1rem; margin-bottom: 1rem; }
.view-head h1 { margin: 0; }
.task-id { font-size: 1.05rem; word-break: break-all; }
.view-head .danger { margin-left: auto; }
.meta { display: grid; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); gap: .75rem 1.25rem; margin: 0; }
.meta dt { font-size: .78rem; text-transform: uppercase; letter-spacing: .04em; color: var(--dim); }
.meta dd { margin: 0; font-variant-numeric: tabular-nums; }
pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-size: .88rem; line-height: 1.45; }
pre.output, pre.diff {
  background: var(--bg); border: 1px solid var(--line); border-radius: 7px; padding: .75rem;
  max-height: 60vh; overflow: auto; min-height: 3rem;
}
.chunk { display: block; margin: .35rem 0; padding: .25rem .5rem; border-left: 3px solid var(--line); color: var(--dim); }
.k-tool_call { border-color: var(--run); }
.k-tool_call::before { content: "tool call  "; font-weight: 700; color: var(--run); }
.k-tool_result::before { content: "tool result  "; font-weight: 700; }
.k-status { font-style: italic; }
.live { font-size: .85rem; font-weight: 650; }
.live.live { color: var(--ok); }
.live.reconnecting { color: var(--stop); }
.outcome.ok { border-left: 4px solid var(--ok); }
.outcome.bad { border-left: 4px solid var(--bad); }
.outcome.stopped { border-left: 4px solid var(--stop); }
.files { list-style: none; padding: 0; margin: 0; display: grid; gap: .25rem; }
.files li { display: flex; gap: .75rem; align-items: baseline; }
.files .path { flex: 1; word-break: break-all; }
.file-mark { font-family: var(--mono); font-weight: 700; width: 1.5rem; text-align: center; border-radius: 4px; background: var(--bg); }
.add { color: var(--ok); font-variant-numeric: tabular-nums; }
.del { color: var(--bad); font-variant-numeric: tabular-nums; }
.d-line { display: block; }
.d-add { background: var(--ok-bg); }
.d-del { background: var(--bad-bg); }
.d-hunk { color: var(--run); }
.d-file { font-weight: 700; }
@media (max-width: 720px) {
  main { padding: .75rem .75rem 2rem; }
  .card { padding: .85rem; }
  .run { grid-template-columns: 1fr; }
  .run .wide, .run .actions { grid-column: 1; }
  .run .field:first-child { grid-row: auto; }
  .filters label { min-width: 0; flex: 1 1 10rem; }
  thead { display: none; }
  table, tbody, tr, td { display: block; }
  .task-row, .tenant-row { border: 1px solid var(--line); border-radius: 8px; margin-bottom: .6rem; padding: .35rem .5rem; }
  td { border: 0; padding: .2rem 0; display: flex; justify-content: space-between; gap: 1rem; text-align: right; }
  td::before { content: attr(data-label); color: var(--dim); font-size: .8rem; text-align: left; }
  td.id { display: block; text-align: left; }
  td.id::before { display: none; }
  .hint { display: none; }
}
`;
