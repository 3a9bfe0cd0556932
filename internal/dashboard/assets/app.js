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
  text(document.getElementById("project"), rep.Project);
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
    cell(row, a.Health);
    cell(row, a.Tokens || 0);
    cell(row, a.CostUSD ? "$" + a.CostUSD.toFixed(4) : "-");
    cell(row, a.BudgetUSD ? "$" + a.BudgetUSD.toFixed(2) : "-");
    cell(row, a.EgressDenied || 0);
    cell(row, a.Restarts || 0);
    cell(row, (a.Problems || []).join("; "), "detail");
    body.appendChild(row);
  }
  renderQueue(rep);
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

// post asks the dashboard to change the queue; what it says back goes under the form.
async function post(path, body) {
  const message = document.getElementById("queue-message");
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
  events.addEventListener("fleet", (e) => render(JSON.parse(e.data)));
  events.onerror = () => {
    const status = document.getElementById("status");
    status.className = "error";
    text(status, "disconnected from docker magents dashboard; retrying…");
  };
}

document.addEventListener("DOMContentLoaded", () => {
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
