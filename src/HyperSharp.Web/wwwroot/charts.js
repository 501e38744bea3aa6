// The usage charts (CPU and memory, last hour): the hour so far from the section's data-usage address, then each new
// sample from the page's event stream (app.js passes them on as hs-usage events). Drawn as SVG here: two lines and a
// grid do not need a charting library. A sample is [unix ms, CPU % or null, MB or null]; a line breaks where samples
// are missing (the VM was off, or its worker did not answer).
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 600, HEIGHT = 170, LEFT = 48, RIGHT = 590, TOP = 10, BOTTOM = 148;
  const SERIES = {
    cpu: { index: 1, title: "CPU usage", unit: " %", steps: [1, 2, 5, 10, 25, 50, 100] },
    memory: { index: 2, title: "Assigned memory", unit: " MB", steps: null },
  };

  // The chart's top: the smallest step at or above the peak (CPU), or 1, 2, 2.5 or 5 times a power of ten (memory).
  function topFor(peak, steps) {
    if (steps) return steps.find((s) => s >= peak) ?? 100;
    const power = Math.pow(10, Math.floor(Math.log10(Math.max(peak, 1))));
    return [1, 2, 2.5, 5, 10].map((m) => m * power).find((v) => v >= peak);
  }

  function number(v) { return Number.isInteger(v) ? String(v) : v.toFixed(1); }

  function element(parent, name, attributes, text) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    parent.appendChild(e);
    return e;
  }

  function start() {
    const section = document.querySelector("section.usage[data-usage]");
    if (!section) return;
    let samples = [], intervalMs = 5000, windowMs = 3600000, loaded = false;
    const early = [];

    function add(sample) {
      if (samples.length && sample[0] <= samples[samples.length - 1][0]) return; // the hour's fetch already had it
      samples.push(sample);
      while (samples.length && samples[0][0] < sample[0] - windowMs) samples.shift();
    }

    function draw() {
      // Time runs to the newest sample (the host's clock, not the browser's).
      const now = samples.length ? samples[samples.length - 1][0] : 0;
      for (const figure of section.querySelectorAll("figure.chart[data-series]")) drawChart(figure, SERIES[figure.getAttribute("data-series")], now);
    }

    function drawChart(figure, series, now) {
      const known = samples.filter((s) => s[series.index] !== null);
      const peak = known.reduce((m, s) => Math.max(m, s[series.index]), 0);
      const top = topFor(peak, series.steps);
      const x = (t) => (LEFT + (t - (now - windowMs)) / windowMs * (RIGHT - LEFT)).toFixed(1);
      const y = (v) => (BOTTOM - v / top * (BOTTOM - TOP)).toFixed(1);
      const svg = figure.querySelector("svg");
      svg.replaceChildren();
      for (const f of [0, 0.5, 1]) {
        element(svg, "line", { x1: LEFT, x2: RIGHT, y1: y(f * top), y2: y(f * top), class: "grid" });
        element(svg, "text", { x: LEFT - 4, y: Number(y(f * top)) + 4, "text-anchor": "end" }, number(f * top) + series.unit);
      }
      element(svg, "text", { x: LEFT, y: HEIGHT - 4, "text-anchor": "start" }, "60 min ago");
      element(svg, "text", { x: RIGHT, y: HEIGHT - 4, "text-anchor": "end" }, "now");
      let points = [], last = null;
      const flush = () => {
        if (points.length === 1) element(svg, "circle", { cx: points[0][0], cy: points[0][1], r: 2.5, class: "line" });
        else if (points.length > 1) element(svg, "polyline", { points: points.map((p) => p.join(",")).join(" "), class: "line" });
        points = [];
      };
      for (const s of samples) {
        const v = s[series.index];
        if (v === null || (last !== null && s[0] - last > 2.5 * intervalMs)) flush();
        if (v !== null) points.push([x(s[0]), y(v)]);
        last = s[0];
      }
      flush();
      figure.setAttribute("data-points", String(known.length));
      figure.querySelector("figcaption").textContent = known.length === 0
        ? `${series.title}: no samples yet (one every ${number(intervalMs / 1000)} s while running)`
        : `${series.title}: now ${number(known[known.length - 1][series.index])}${series.unit}, peak ${number(peak)}${series.unit} in the last hour`;
    }

    document.addEventListener("hs-usage", (event) => {
      if (!loaded) { early.push(event.detail); return; }
      add(event.detail);
      draw();
    });
    fetch(section.getAttribute("data-usage"), { credentials: "same-origin" })
      .then((response) => response.json())
      .then((hour) => {
        intervalMs = hour.intervalMs;
        windowMs = hour.windowMs;
        samples = hour.samples;
        loaded = true;
        for (const s of early) add(s);
        draw();
      });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
