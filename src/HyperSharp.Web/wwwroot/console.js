// The VM page's serial console: xterm.js (bundled from npm at build time) over the page's WebSocket to the
// worker's console. Connects when the VM runs (and again when it starts after being off).
"use strict";

function openConsole() {
  const host = document.getElementById("console");
  if (!host) return;
  const status = document.getElementById("console-status");
  const term = new window.Terminal({ convertEol: false, cursorBlink: true, rows: 24, cols: 100, screenReaderMode: true });
  term.open(host);
  let socket = null;
  const encoder = new TextEncoder();
  term.onData((data) => { if (socket && socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data)); });

  function connect() {
    if (socket || host.getAttribute("data-running") !== "true") return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}${host.getAttribute("data-socket")}`);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => { status.textContent = "Connected."; host.setAttribute("data-connected", "true"); };
    socket.onmessage = (message) => term.write(new Uint8Array(message.data));
    socket.onclose = () => {
      status.textContent = "Disconnected: the VM is not running.";
      host.setAttribute("data-connected", "false");
      socket = null;
      // The VM may still run (a worker restart): try again once the page knows it runs.
      if (host.getAttribute("data-running") === "true") setTimeout(connect, 1000);
    };
  }
  host.addEventListener("hs-state", connect);
  if (host.getAttribute("data-running") !== "true") status.textContent = "The VM is not running.";
  connect();
}

document.addEventListener("DOMContentLoaded", openConsole);
