// The console's page behaviour: live VM rows from the server's event stream (/events), and confirmation
// before the actions Hyper-V Manager asks about. No framework: the pages are rendered by the server.
"use strict";

// The question is the pressed button's (a form with two buttons asks for one of them) or the form's; {field} in it
// is replaced by what the form's field of that name holds (Move names its destination).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const template = event.submitter?.getAttribute("data-confirm") ?? form.getAttribute("data-confirm");
  if (!template) return;
  const question = template.replace(/\{(\w+)\}/g, (_, name) => form.elements.namedItem(name)?.value ?? "");
  if (!window.confirm(question)) event.preventDefault();
});

function liveRows() {
  const list = document.querySelector("table#vms[data-live]");
  const single = document.querySelector("section[data-vm][data-live]");
  const source = list || single;
  if (!source) return;
  const events = new EventSource(source.getAttribute("data-live"));
  events.addEventListener("row", (message) => {
    const row = JSON.parse(message.data);
    if (single) {
      if (single.getAttribute("data-vm") === row.id) fill(single, row);
      return;
    }
    let line = list.querySelector(`tr[data-vm="${CSS.escape(row.id)}"]`);
    if (!line) line = addRow(list, row);
    fill(line, row);
    countVms(list);
  });
  events.addEventListener("removed", (message) => {
    const gone = JSON.parse(message.data);
    if (list) {
      list.querySelector(`tr[data-vm="${CSS.escape(gone.id)}"]`)?.remove();
      countVms(list);
    }
    else if (single && single.getAttribute("data-vm") === gone.id) single.setAttribute("data-removed", "true");
  });
  // New samples for the page's usage charts (charts.js draws them).
  events.addEventListener("usage", (message) => document.dispatchEvent(new CustomEvent("hs-usage", { detail: JSON.parse(message.data) })));
  // The page says when it is live, so a person (and a test) knows updates will come.
  events.addEventListener("open", () => document.body.setAttribute("data-live", "open"));
  events.addEventListener("error", () => document.body.setAttribute("data-live", "reconnecting"));
}

// The host's VM count follows the list.
function countVms(list) {
  const count = document.getElementById("host-vms");
  if (count) count.textContent = String(list.tBodies[0].rows.length);
}

function addRow(list, row) {
  const headers = list.querySelectorAll("thead th").length;
  const line = document.createElement("tr");
  line.setAttribute("data-vm", row.id);
  const fields = ["name", "state", "cpu", "memory", "uptime", "heartbeat", "status"].slice(0, headers);
  for (const field of fields) {
    const cell = document.createElement("td");
    cell.setAttribute("data-field", field);
    if (field === "name") {
      const link = document.createElement("a");
      link.href = `/vms/${encodeURIComponent(row.id)}`;
      cell.appendChild(link);
    }
    line.appendChild(cell);
  }
  list.tBodies[0].appendChild(line);
  return line;
}

function fill(container, row) {
  for (const cell of container.querySelectorAll("[data-field]")) {
    const value = row[cell.getAttribute("data-field")];
    if (value === undefined) continue;
    const target = cell.querySelector("a") || cell;
    if (target.textContent !== value) target.textContent = value;
  }
  const console = document.getElementById("console");
  if (console && container === document.querySelector("section[data-vm]")) {
    console.setAttribute("data-running", row.state === "Running" || row.state === "Paused" ? "true" : "false");
    console.dispatchEvent(new Event("hs-state"));
  }
}

document.addEventListener("DOMContentLoaded", liveRows);
