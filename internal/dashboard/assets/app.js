// docker magents dashboard. Everything an agent wrote (its state's detail, problems) is
// put on the page as text (textContent), never as HTML.
"use strict";

const states = {};

function text(el, value) {
  el.textContent = value === undefined || value === null || value === "" ? "-" : String(value);
  return el;
}

function cell(row, value, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  row.appendChild(text(td, value));
  return td;
}

function since(seconds) {
  if (!seconds && seconds !== 0) return "-";
  if (seconds < 60) return seconds + "s";
  if (seconds < 3600) return Math.floor(seconds / 60) + "m";
  return Math.floor(seconds / 3600) + "h" + String(Math.floor((seconds % 3600) / 60)).padStart(2, "0");
}

function render(msg) {
  const status = document.getElementById("status");
  if (msg.error) {
    status.className = "error";
    text(status, msg.error);
    return;
  }
  const rep = msg.report || {};
  const where = { swarm: " (Swarm stack)", kubernetes: " (Kubernetes)" }[rep.Where] || "";
  text(document.getElementById("project"), rep.Project + where);
  status.className = "";
  text(status, "live, " + new Date().toLocaleTimeString());
  const body = document.querySelector("#fleet tbody");
  body.replaceChildren();
  const agents = rep.Agents || [];
  document.getElementById("empty").hidden = agents.length > 0;
  for (const a of agents) {
    states[a.Agent] = { since: a.Since ? Date.parse(a.Since) : null, seconds: a.StateSeconds };
    const row = document.createElement("tr");
    row.dataset.agent = a.Agent;
    cell(row, a.Agent);
    cell(row, a.State, "state state-" + a.State);
    cell(row, since(a.StateSeconds), "for");
    cell(row, a.Detail, "detail");
    // Its queued task now, if any, and the branch it works on.
    const task = (rep.Queue || []).find((t) => t.AssignedTo === a.Agent && !finalStates.includes(t.State));
    cell(row, task ? task.ID : "", "task");
    cell(row, task && task.Branch ? task.Branch : rep.Branches ? "magents/" + a.Agent : "", "branch");
    cell(row, a.Health);
    cell(row, a.Tokens || 0);
    cell(row, a.CostUSD ? "$" + a.CostUSD.toFixed(4) : "-");
    cell(row, a.BudgetUSD ? "$" + a.BudgetUSD.toFixed(2) : "-");
    cell(row, a.EgressDenied || 0);
    cell(row, a.Restarts || 0);
    cell(row, (a.Problems || []).join("; "), "detail");
    const work = document.createElement("td");
    work.appendChild(terminalButton(a.Agent, false));
    work.appendChild(terminalButton(a.Agent, true));
    if (rep.Branches) work.appendChild(diffButton(a.Agent));
    row.appendChild(work);
    body.appendChild(row);
  }
  renderQueue(rep);
  renderUsage(agents);
  renderEgress(rep);
}

// renderEgress shows the egress proxy's allowlist and its latest refusals, newest first.
function renderEgress(rep) {
  const section = document.getElementById("egress");
  section.hidden = !rep.Egress && !rep.EgressError;
  if (section.hidden) return;
  const eg = rep.Egress || { Allow: [], Recent: [] };
  text(document.getElementById("egress-allow"), rep.EgressError || (eg.Allow || []).join(", "));
  const body = document.querySelector("#egress-log tbody");
  body.replaceChildren();
  const recent = (eg.Recent || []).slice().reverse();
  document.getElementById("egress-none").hidden = recent.length > 0;
  for (const d of recent) {
    const row = document.createElement("tr");
    row.dataset.agent = d.Agent;
    cell(row, new Date(d.Time).toLocaleTimeString());
    cell(row, d.Agent);
    cell(row, d.Method);
    cell(row, d.Host, "host");
    body.appendChild(row);
  }
}

const svgNS = "http://www.w3.org/2000/svg";
const history = []; // [time, tokens of the fleet], since the page opened

function svg(name, attrs, label) {
  const el = document.createElementNS(svgNS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (label !== undefined) el.textContent = String(label);
  return el;
}

// renderUsage draws each agent's cost as a bar, and the fleet's tokens over time.
function renderUsage(agents) {
  const tokens = agents.reduce((n, a) => n + (a.Tokens || 0), 0);
  const cost = agents.reduce((n, a) => n + (a.CostUSD || 0), 0);
  document.getElementById("usage").hidden = tokens === 0 && cost === 0;
  const bars = document.getElementById("cost-by-agent");
  bars.replaceChildren();
  const max = Math.max(...agents.map((a) => a.CostUSD || 0), 0.0001);
  const width = 380 / Math.max(agents.length, 1);
  agents.forEach((a, i) => {
    const h = Math.round(((a.CostUSD || 0) / max) * 120);
    const x = 10 + i * width;
    bars.appendChild(svg("rect", { class: "bar", x: x, y: 135 - h, width: Math.max(width - 6, 2), height: h, "data-agent": a.Agent }));
    bars.appendChild(svg("text", { class: "label", x: x, y: 150 }, a.Agent));
    bars.appendChild(svg("text", { class: "label", x: x, y: 130 - h }, "$" + (a.CostUSD || 0).toFixed(4)));
  });
  const now = Date.now();
  if (!history.length || history[history.length - 1][1] !== tokens || now - history[history.length - 1][0] > 5000) history.push([now, tokens]);
  const line = document.getElementById("tokens-over-time");
  line.replaceChildren();
  const t0 = history[0][0], span = Math.max(now - t0, 1000), top = Math.max(...history.map((p) => p[1]), 1);
  const points = history.map(([t, n]) => (10 + ((t - t0) / span) * 380).toFixed(1) + "," + (140 - (n / top) * 120).toFixed(1));
  line.appendChild(svg("polyline", { class: "series", points: points.join(" ") }));
  line.appendChild(svg("text", { class: "label", x: 10, y: 155 }, tokens + " tokens, $" + cost.toFixed(4)));
}

const finalStates = ["done", "failed", "cancelled", "budget-exceeded"];

function renderQueue(rep) {
  const section = document.getElementById("queue");
  section.hidden = !rep.HasQueue;
  if (!rep.HasQueue) return;
  const message = document.getElementById("queue-message");
  if (rep.QueueError) {
    message.className = "error";
    text(message, rep.QueueError);
  }
  const body = document.querySelector("#tasks tbody");
  body.replaceChildren();
  for (const t of (rep.Queue || []).slice().reverse()) {
    const row = document.createElement("tr");
    row.dataset.task = t.ID;
    cell(row, t.ID);
    cell(row, t.State, "state state-" + t.State);
    cell(row, t.AssignedTo);
    cell(row, t.Attempts + "/" + t.MaxAttempts);
    cell(row, t.CostUSD ? "$" + t.CostUSD.toFixed(4) : "-");
    cell(row, t.Prompt, "detail prompt");
    cell(row, t.Error || t.Result, "detail result");
    const actions = document.createElement("td");
    if (rep.Branches && t.Branch) actions.appendChild(diffButton(t.ID));
    const verb = finalStates.includes(t.State) ? "retry" : "cancel";
    const button = document.createElement("button");
    button.type = "button";
    button.className = verb;
    text(button, verb === "retry" ? "Retry" : "Cancel");
    button.addEventListener("click", () => post("/api/queue/" + encodeURIComponent(t.ID) + "/" + verb));
    actions.appendChild(button);
    row.appendChild(actions);
    body.appendChild(row);
  }
}

function terminalButton(agent, readonly) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = readonly ? "watch" : "terminal";
  text(button, readonly ? "Watch" : "Terminal");
  button.addEventListener("click", () => openTerminal(agent, readonly));
  return button;
}

// loadScripts loads the vendored scripts a view needs the first time it is opened, in
// order, so that the page itself loads fast: xterm.js for terminals, Prism for diffs.
const loaded = {};
function loadScripts(name, files, attrs = {}) {
  if (!loaded[name]) {
    loaded[name] = files.reduce((previous, src) => previous.then(() => new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/static/vendor/" + src;
      for (const [k, v] of Object.entries(attrs[src] || {})) script.setAttribute(k, v);
      script.onload = resolve;
      script.onerror = () => reject(new Error("could not load " + src));
      document.head.appendChild(script);
    })), Promise.resolve());
  }
  return loaded[name];
}

const xtermFiles = ["xterm/xterm.js", "xterm/addon-fit.js"];
const prismFiles = ["core", "markup", "css", "clike", "javascript", "typescript", "go", "python", "bash",
  "json", "yaml", "markdown", "rust", "java", "c", "cpp", "docker", "toml", "sql", "makefile", "hcl"]
  .map((l) => "prism/prism-" + l + ".min.js");

// openTerminal shows an agent's tmux session: typed into, or watched (read-only). Several
// stand side by side.
async function openTerminal(agent, readonly) {
  const id = "terminal-" + agent + (readonly ? "-ro" : "");
  if (document.getElementById(id)) return;
  await loadScripts("xterm", xtermFiles);
  if (document.getElementById(id)) return; // opened meanwhile, by a second click
  const panel = document.createElement("div");
  panel.className = "term-panel";
  panel.id = id;
  panel.dataset.agent = agent;
  const head = document.createElement("header");
  head.appendChild(text(document.createElement("strong"), agent + (readonly ? " (read-only)" : "")));
  const close = document.createElement("button");
  close.type = "button";
  close.className = "close";
  text(close, "Close");
  head.appendChild(close);
  const screen = document.createElement("div");
  screen.className = "screen";
  panel.append(head, screen);
  document.getElementById("terminals").appendChild(panel);

  const term = new Terminal({ convertEol: false, disableStdin: readonly, fontSize: 13, scrollback: 2000 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(screen);
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(scheme + location.host + "/api/terminal/" + encodeURIComponent(agent) + (readonly ? "?readonly=1" : ""));
  ws.binaryType = "arraybuffer";
  const size = () => {
    fit.fit();
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ cols: term.cols, rows: term.rows }));
  };
  ws.onopen = size;
  ws.onmessage = (e) => term.write(new Uint8Array(e.data));
  ws.onclose = (e) => term.write("\r\n[" + (e.reason || "closed") + "]\r\n");
  const encoder = new TextEncoder();
  if (!readonly) term.onData((d) => ws.readyState === WebSocket.OPEN && ws.send(encoder.encode(d)));
  const observer = new ResizeObserver(size);
  observer.observe(screen);
  close.addEventListener("click", () => {
    observer.disconnect();
    ws.close();
    term.dispose();
    panel.remove();
  });
  if (!readonly) term.focus();
}

function diffButton(who) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "diff";
  text(button, "Diff");
  button.addEventListener("click", () => showDiff(who));
  return button;
}

// languages: Prism's grammar for a file, by its name (the languages vendored in
// vendor/prism).
const languages = {
  go: "go", js: "javascript", mjs: "javascript", cjs: "javascript", jsx: "javascript",
  ts: "typescript", tsx: "typescript", py: "python", sh: "bash", bash: "bash",
  json: "json", yaml: "yaml", yml: "yaml", md: "markdown", rs: "rust", java: "java",
  c: "c", h: "c", cc: "cpp", cpp: "cpp", hpp: "cpp", css: "css", html: "markup",
  htm: "markup", xml: "markup", svg: "markup", toml: "toml", sql: "sql", hcl: "hcl",
  tf: "hcl", mk: "makefile",
};

function grammarFor(path) {
  if (typeof Prism === "undefined") return null;
  const base = path.split("/").pop();
  let lang = languages[base.includes(".") ? base.split(".").pop().toLowerCase() : ""];
  if (/^(Dockerfile|Containerfile)(\..*)?$/.test(base)) lang = "docker";
  if (/^(GNUmakefile|Makefile|makefile)$/.test(base)) lang = "makefile";
  return lang ? Prism.languages[lang] || null : null;
}

// tokenLines is source, tokenized with grammar, as lines of [class, text] pieces: Prism
// gives tokens (never HTML), which the page shows as text.
function tokenLines(source, grammar) {
  const lines = [[]];
  const walk = (stream, type) => {
    for (const token of stream) {
      if (typeof token === "string") {
        const parts = token.split("\n");
        parts.forEach((part, i) => {
          if (i > 0) lines.push([]);
          if (part) lines[lines.length - 1].push([type, part]);
        });
      } else {
        const content = typeof token.content === "string" ? [token.content] : Array.isArray(token.content) ? token.content : [token.content];
        walk(content, token.type);
      }
    }
  };
  walk(Prism.tokenize(source, grammar), "");
  return lines;
}

// diffLines is one file's part of a diff as lines to show: each with its class and its
// pieces. Each hunk's old side (context and removed lines) and new side (context and
// added lines) are tokenized as they read in the file, so a line is coloured as in its
// own version.
function diffLines(part, grammar) {
  const raw = part.replace(/\n$/, "").split("\n");
  const out = [];
  let i = 0;
  while (i < raw.length && !raw[i].startsWith("@@")) {
    out.push({ cls: "line-meta", pieces: [["", raw[i]]] });
    i++;
  }
  while (i < raw.length) {
    out.push({ cls: "line-hunk", pieces: [["", raw[i]]] });
    i++;
    const hunk = [];
    while (i < raw.length && !raw[i].startsWith("@@")) hunk.push(raw[i++]);
    const side = (keep) => hunk.filter((l) => keep.includes(l[0])).map((l) => l.slice(1)).join("\n");
    const oldLines = grammar ? tokenLines(side(" -"), grammar) : null;
    const newLines = grammar ? tokenLines(side(" +"), grammar) : null;
    let o = 0, n = 0;
    for (const line of hunk) {
      const mark = line[0];
      let pieces = [["", line.slice(1)]];
      if (mark === " " || mark === "+") {
        if (newLines) pieces = newLines[n] || pieces;
        n++;
        if (mark === " ") o++;
      } else if (mark === "-") {
        if (oldLines) pieces = oldLines[o] || pieces;
        o++;
      } else {
        out.push({ cls: "line-meta", pieces: [["", line]] }); // \ No newline at end of file
        continue;
      }
      const cls = mark === "+" ? "line-add" : mark === "-" ? "line-del" : "";
      out.push({ cls, pieces: [["mark", mark], ...pieces] });
    }
  }
  return out;
}

// showDiff shows what an agent's or a task's branch changed, file by file, as text,
// coloured by the file's language.
async function showDiff(who) {
  const section = document.getElementById("diff");
  const files = document.getElementById("diff-files");
  section.hidden = false;
  section.dataset.who = who;
  text(document.getElementById("diff-title"), "Changes of " + who);
  text(document.getElementById("merge-message"), "");
  files.replaceChildren();
  // Prism's automatic highlighting stays off (data-manual): the page asks for tokens only.
  const prism = loadScripts("prism", prismFiles, { "prism/prism-core.min.js": { "data-manual": "" } }).catch(() => {});
  const resp = await fetch("/api/diff/" + encodeURIComponent(who));
  const body = await resp.text();
  if (!resp.ok) {
    const p = document.createElement("p");
    p.className = "error";
    files.appendChild(text(p, body.trim()));
    return;
  }
  if (!body.trim()) {
    files.appendChild(text(document.createElement("p"), "No changes."));
    return;
  }
  await prism; // without it (it failed to load), the diff is shown uncoloured
  for (const part of body.split(/^(?=diff --git )/m)) {
    if (!part.trim()) continue;
    const details = document.createElement("details");
    details.open = true;
    details.className = "file";
    const summary = document.createElement("summary");
    const path = part.split("\n", 1)[0].replace(/^diff --git a\/(.*) b\/.*$/, "$1");
    text(summary, path);
    details.appendChild(summary);
    const pre = document.createElement("pre");
    const grammar = grammarFor(path);
    if (grammar) pre.dataset.language = Object.keys(Prism.languages).find((k) => Prism.languages[k] === grammar);
    for (const line of diffLines(part, grammar)) {
      const row = document.createElement("span");
      row.className = "line " + line.cls;
      for (const [type, piece] of line.pieces) {
        const span = document.createElement("span");
        if (type) span.className = "tok-" + type.replace(/[^a-z-]/g, "");
        span.textContent = piece;
        row.appendChild(span);
      }
      pre.append(row, "\n");
    }
    details.appendChild(pre);
    files.appendChild(details);
  }
}

// post asks the dashboard to change the fleet; what it says back goes in message (the
// queue's, by default).
async function post(path, body, message) {
  message = message || document.getElementById("queue-message");
  const resp = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? "{}" : JSON.stringify(body),
  });
  const answer = await resp.text();
  message.className = resp.ok ? "" : "error";
  if (!resp.ok) {
    text(message, answer.trim());
    return null;
  }
  text(message, "");
  return JSON.parse(answer);
}

// The time in each state ticks on between reports.
function tick() {
  for (const row of document.querySelectorAll("#fleet tbody tr")) {
    const s = states[row.dataset.agent];
    if (s && s.since) text(row.querySelector(".for"), since(Math.max(0, Math.round((Date.now() - s.since) / 1000))));
  }
}

function connect() {
  const events = new EventSource("/api/events");
  events.addEventListener("fleet", (e) => {
    render(JSON.parse(e.data));
    // When the page first showed the fleet, on its own clock (make bench reads it).
    if (!performance.getEntriesByName("fleet-shown").length) performance.mark("fleet-shown");
  });
  events.onerror = () => {
    const status = document.getElementById("status");
    status.className = "error";
    text(status, "disconnected from docker magents dashboard; retrying…");
  };
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("merge").addEventListener("click", async () => {
    const who = document.getElementById("diff").dataset.who;
    const message = document.getElementById("merge-message");
    const merged = await post("/api/merge/" + encodeURIComponent(who), undefined, message);
    if (merged) text(message, merged.Output);
  });
  document.getElementById("diff-close").addEventListener("click", () => {
    document.getElementById("diff").hidden = true;
  });
  document.getElementById("queue-add").addEventListener("submit", async (e) => {
    e.preventDefault();
    const area = document.getElementById("task-text");
    const added = await post("/api/queue", { Prompt: area.value });
    if (added) {
      area.value = "";
      text(document.getElementById("queue-message"), added.map((t) => t.ID + " queued").join(", "));
    }
  });
  connect();
  setInterval(tick, 1000);
});
