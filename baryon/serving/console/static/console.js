/* Baryon console: charts (uPlot) from JSON data blocks, confirmations, the annotation
   screen's keyboard shortcuts. No inline script:
   the Content-Security-Policy allows scripts from the console's own origin only. */
(function () {
  "use strict";
  var PALETTE = ["#1f6feb", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00"];

  function draw(el) {
    if (el.getAttribute("data-drawn") || typeof window.uPlot === "undefined") {
      return;
    }
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source) {
      return;
    }
    var spec = JSON.parse(source.textContent);
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var series = [{ label: spec.x_label }].concat(spec.series.map(function (s, i) {
      return {
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        dash: s.dash || undefined,
        spanGaps: false,
        points: { show: spec.x.length < 40 }
      };
    }));
    var opts = {
      width: Math.max(320, el.clientWidth || 640),
      height: 260,
      scales: { x: { time: !!spec.time } },
      axes: [{ label: spec.x_label }, { label: spec.y_label, size: 70 }],
      series: series
    };
    el.setAttribute("data-drawn", "1");
    new window.uPlot(opts, data, el);
  }

  function drawAll(root) {
    var nodes = (root || document).querySelectorAll("[data-chart]");
    for (var i = 0; i < nodes.length; i++) {
      draw(nodes[i]);
    }
  }

  // The annotation screen: 1-9 choose a label, n or Enter save it and go to the next
  // task, s skips. Keys typed into a field are left alone.
  function annotate(event) {
    var form = document.querySelector("form[data-annotate]");
    if (!form || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var tag = (event.target && event.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      return;
    }
    var chosen = form.querySelector('button[aria-pressed="true"]');
    if (/^[1-9]$/.test(event.key)) {
      var button = form.querySelector('button[data-key="' + event.key + '"]');
      if (button) {
        event.preventDefault();
        if (chosen) {
          chosen.setAttribute("aria-pressed", "false");
        }
        button.setAttribute("aria-pressed", "true");
        button.focus();
      }
    } else if (event.key === "n" || event.key === "Enter") {
      if (chosen) {
        event.preventDefault();
        chosen.click();
      }
    } else if (event.key === "s") {
      var skip = document.getElementById("skip");
      if (skip) {
        event.preventDefault();
        skip.click();
      }
    }
  }

  document.addEventListener("keydown", annotate);
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawAll(event.target); });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();
