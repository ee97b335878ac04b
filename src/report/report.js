// The report page's script: sortable tables, the parameter toggle, the
// curves (drawn as SVG from the embedded data, with smoothing, log scale,
// step or time axis and the values under the pointer), the sample sliders,
// and on a live page (`gan-lab serve`) a refresh from api/data every few
// seconds. Text is only ever written as text nodes.
(function () {
  "use strict";
  document.body.dataset.reportScript = "ran";
  var NS = "http://www.w3.org/2000/svg";
  var W = 640, H = 300, L = 60, R = 14, T = 10, B = 30, LEGEND = 16;
  var state = { smooth: 0.6, x: "step", log: {} };
  var data = JSON.parse(document.getElementById("report-data").textContent);

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th, col) {
      th.addEventListener("click", function () {
        var asc = th.dataset.dir !== "asc";
        table.querySelectorAll("thead th").forEach(function (h) { delete h.dataset.dir; });
        th.dataset.dir = asc ? "asc" : "desc";
        var body = table.tBodies[0];
        var key = function (row) { return row.cells[col].dataset.sort || ""; };
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
          var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  document.getElementById("toggle-params").addEventListener("click", function (e) {
    var all = document.body.classList.toggle("all-params");
    e.target.textContent = all ? "Show only differing parameters" : "Show all parameters";
  });

  function svg(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function html(tag, cls, text, parent) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text) { e.textContent = text; }
    if (parent) { parent.appendChild(e); }
    return e;
  }

  // Exponential moving average, debiased at the start as TensorBoard does.
  function ema(ys, w) {
    if (!(w > 0)) { return ys; }
    var out = [], acc = 0, weight = 0;
    for (var i = 0; i < ys.length; i++) {
      acc = acc * w + (1 - w) * ys[i];
      weight = weight * w + (1 - w);
      out.push(acc / weight);
    }
    return out;
  }

  function niceStep(span, n) {
    var raw = span / n, step = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / step;
    return step * (r >= 7.5 ? 10 : r >= 3.5 ? 5 : r >= 1.5 ? 2 : 1);
  }
  function ticks(lo, hi, n, integer) {
    if (!(hi > lo)) { return [lo]; }
    var step = niceStep(hi - lo, n);
    if (integer) { step = Math.max(1, Math.round(step)); }
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) { out.push(v); }
    return out;
  }
  function logTicks(lo, hi) {
    var out = [], a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
    var mults = b - a <= 2 ? [1, 2, 5] : [1];
    for (var e = a; e <= b; e++) {
      mults.forEach(function (m) {
        var v = m * Math.pow(10, e);
        if (v >= lo && v <= hi) { out.push(v); }
      });
    }
    return out.length >= 2 ? out : [lo, hi];
  }
  // Steps as integers: 500, 2k, 2.5k, 10,500.
  function fmtStep(v) {
    v = Math.round(v);
    if (v >= 1000 && v % 1000 === 0) { return v / 1000 + "k"; }
    if (v >= 1000 && v % 100 === 0) { return (v / 1000).toFixed(1) + "k"; }
    return v.toLocaleString("en-US");
  }
  function timeUnit(span) { return span < 180 ? [1, "s"] : span < 3 * 3600 ? [60, "m"] : [3600, "h"]; }
  function fmtValue(v) {
    if (v === 0) { return "0"; }
    var a = Math.abs(v);
    if (a >= 1e5 || a < 1e-3) { return v.toExponential(2); }
    return String(parseFloat(v.toPrecision(4)));
  }

  // Draws one chart into a new figure appended to `parent`.
  function drawChart(chart, parent) {
    var figure = html("div", "chart-box", null, parent);
    figure.dataset.chart = chart.id;
    var head = html("div", "chart-title", null, figure);
    html("strong", null, chart.title, head);
    var positive = chart.lines.every(function (l) {
      return l.y.every(function (v) { return v > 0; }) && (!l.lo || l.lo.every(function (v) { return v > 0; }));
    });
    var log = positive && (chart.id in state.log ? state.log[chart.id] : chart.log);
    if (positive) {
      var label = html("label", null, null, head);
      var box = html("input", null, null, label);
      box.type = "checkbox";
      box.className = "log-scale";
      box.checked = log;
      label.appendChild(document.createTextNode(" log scale"));
      box.addEventListener("change", function () {
        state.log[chart.id] = box.checked;
        redraw(figure, chart);
      });
    }
    var xs = function (l) { return state.x === "time" ? l.t : l.x; };
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    chart.lines.forEach(function (l) {
      xs(l).forEach(function (v) { x0 = Math.min(x0, v); x1 = Math.max(x1, v); });
      [l.y, l.lo || [], l.hi || []].forEach(function (ys) {
        ys.forEach(function (v) { y0 = Math.min(y0, v); y1 = Math.max(y1, v); });
      });
    });
    if (!(x1 > x0)) { x1 = x0 + 1; }
    if (log) {
      y0 = Math.log10(y0); y1 = Math.log10(y1);
    }
    if (!(y1 > y0)) { y0 -= 0.5; y1 += 0.5; }
    var pad = (y1 - y0) * 0.05;
    y0 -= pad; y1 += pad;
    var sx = function (v) { return L + (v - x0) / (x1 - x0) * (W - L - R); };
    var fy = function (v) { return log ? Math.log10(v) : v; };
    var sy = function (v) { return T + (y1 - fy(v)) / (y1 - y0) * (H - T - B); };
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, "class": "curve" }, figure);
    // Axes and ticks.
    var axis = svg("g", { "font-size": "11", fill: "#444" }, root);
    svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#888" }, axis);
    svg("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#888" }, axis);
    var xt, xfmt;
    if (state.x === "time") {
      var unit = timeUnit(x1 - x0);
      xt = ticks(x0 / unit[0], x1 / unit[0], 6, false).map(function (v) { return v * unit[0]; });
      xfmt = function (v) { return parseFloat((v / unit[0]).toPrecision(3)) + unit[1]; };
    } else {
      xt = ticks(x0, x1, 6, true);
      xfmt = fmtStep;
    }
    xt.forEach(function (v) {
      var x = sx(v);
      svg("line", { x1: x, y1: T, x2: x, y2: H - B, stroke: "#eee" }, axis);
      var t = svg("text", { x: x, y: H - B + 14, "text-anchor": "middle", "class": "x-tick" }, axis);
      t.textContent = xfmt(v);
    });
    var yt = log ? logTicks(Math.pow(10, y0), Math.pow(10, y1)) : ticks(y0, y1, 5, false);
    yt.forEach(function (v) {
      var y = sy(v);
      svg("line", { x1: L, y1: y, x2: W - R, y2: y, stroke: "#eee" }, axis);
      var t = svg("text", { x: L - 4, y: y + 4, "text-anchor": "end" }, axis);
      t.textContent = fmtValue(v);
    });
    var axisLabel = svg("text", { x: W - R, y: H - 4, "text-anchor": "end" }, axis);
    axisLabel.textContent = state.x === "time" ? "time since the run started" : "step";
    // Bands, raw lines (faint when smoothed) and smoothed lines.
    var path = function (px, py) {
      var d = "";
      for (var i = 0; i < px.length; i++) {
        d += (i ? "L" : "M") + sx(px[i]).toFixed(1) + "," + sy(py[i]).toFixed(1);
      }
      return d;
    };
    chart.lines.forEach(function (l) {
      if (l.lo && l.hi) {
        var px = xs(l), d = path(px, l.hi);
        for (var i = px.length - 1; i >= 0; i--) { d += "L" + sx(px[i]).toFixed(1) + "," + sy(l.lo[i]).toFixed(1); }
        svg("path", { d: d + "Z", fill: l.color, "fill-opacity": 0.15, stroke: "none", "class": "band" }, root);
      }
    });
    var smoothed = state.smooth > 0;
    chart.lines.forEach(function (l) {
      var raw = svg("path", { d: path(xs(l), l.y), fill: "none", stroke: l.color, "stroke-width": 1.5, "class": "raw", "data-points": l.y.length }, root);
      if (smoothed) {
        raw.setAttribute("stroke-opacity", 0.25);
        svg("path", { d: path(xs(l), ema(l.y, state.smooth)), fill: "none", stroke: l.color, "stroke-width": 2, "class": "smoothed" }, root);
      }
    });
    // The values under the pointer.
    var cursor = svg("line", { y1: T, y2: H - B, stroke: "#999", visibility: "hidden" }, root);
    var tip = html("div", "tip", null, figure);
    root.addEventListener("mousemove", function (e) {
      var r = root.getBoundingClientRect();
      var px = (e.clientX - r.left) * W / r.width;
      var xv = x0 + (px - L) / (W - L - R) * (x1 - x0);
      var lines = [];
      chart.lines.forEach(function (l) {
        var a = xs(l);
        if (!a.length) { return; }
        var lo = 0, hi = a.length - 1;
        while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (a[mid] < xv) { lo = mid; } else { hi = mid; } }
        var i = Math.abs(a[lo] - xv) <= Math.abs(a[hi] - xv) ? lo : hi;
        var ys = smoothed ? ema(l.y, state.smooth) : l.y;
        lines.push(l.label + ": " + fmtValue(ys[i]) + (smoothed ? " (raw " + fmtValue(l.y[i]) + ")" : "") +
          " at step " + fmtStep(l.x[i]));
      });
      cursor.setAttribute("x1", px);
      cursor.setAttribute("x2", px);
      cursor.setAttribute("visibility", "visible");
      tip.textContent = lines.join("\n");
      tip.style.display = "block";
      tip.style.left = Math.min(px + 12, W - 200) + "px";
      tip.style.top = "2em";
    });
    root.addEventListener("mouseleave", function () {
      cursor.setAttribute("visibility", "hidden");
      tip.style.display = "none";
    });
    var legend = html("div", "legend", null, figure);
    chart.lines.slice(0, LEGEND).forEach(function (l) {
      var item = html("span", null, null, legend);
      var sw = html("span", "swatch", null, item);
      sw.style.background = l.color;
      item.appendChild(document.createTextNode(l.label));
    });
    return figure;
  }
  function redraw(figure, chart) {
    var fresh = drawChart(chart, figure.parentNode);
    figure.parentNode.replaceChild(fresh, figure);
  }

  function drawAll() {
    var host = document.getElementById("curve-charts");
    if (!data.sections.length) { return; }
    while (host.firstChild) { host.removeChild(host.firstChild); }
    data.sections.forEach(function (s) {
      html("h3", null, s.title, host);
      var row = html("div", "charts", null, host);
      s.charts.forEach(function (c) { drawChart(c, row); });
    });
  }

  var smoothing = document.getElementById("smoothing");
  var smoothingValue = document.getElementById("smoothing-value");
  smoothing.addEventListener("input", function () {
    state.smooth = parseFloat(smoothing.value);
    smoothingValue.textContent = state.smooth.toFixed(2);
    drawAll();
  });
  state.smooth = parseFloat(smoothing.value);
  document.getElementById("x-axis").addEventListener("change", function (e) {
    state.x = e.target.value;
    drawAll();
  });
  drawAll();

  // Samples: a slider per run, and one that moves every run to a step.
  var sampleRuns = [];
  document.querySelectorAll(".sample-run").forEach(function (fig) {
    var imgs = fig.querySelectorAll("img"), range = fig.querySelector("input"), label = fig.querySelector(".sample-step");
    var show = function (i) {
      imgs.forEach(function (img, j) { img.hidden = j !== i; });
      range.value = i;
      label.textContent = "step " + imgs[i].dataset.step;
    };
    range.addEventListener("input", function () { show(parseInt(range.value, 10)); });
    sampleRuns.push(function (step) {
      var pick = 0;
      imgs.forEach(function (img, j) { if (parseInt(img.dataset.step, 10) <= step) { pick = j; } });
      show(pick);
    });
  });
  var allSteps = document.getElementById("samples-step");
  if (allSteps) {
    var steps = allSteps.dataset.steps.split(",").map(Number);
    allSteps.addEventListener("input", function () {
      var step = steps[parseInt(allSteps.value, 10)];
      document.getElementById("samples-step-value").textContent = "step " + step;
      sampleRuns.forEach(function (f) { f(step); });
    });
  }

  // A live page: fresher curves and run states every few seconds.
  if (!document.body.dataset.live) { return; }
  var status = document.getElementById("live-status"), updates = 0;
  function applyRuns(runs) {
    var live = 0;
    runs.forEach(function (r) {
      var row = document.querySelector('tr[data-run="' + r.id + '"]');
      if (r.live) { live++; }
      if (!row) { return; }
      row.querySelector(".run-status .value").textContent = r.status;
      row.querySelector(".run-steps .value").textContent = r.steps;
      var cell = row.querySelector(".run-status"), badge = cell.querySelector(".live-badge");
      if (r.live && !badge) {
        cell.insertBefore(html("span", "live-badge", "live"), cell.querySelector(".value").nextSibling);
      } else if (!r.live && badge) {
        cell.removeChild(badge);
      }
    });
    return live;
  }
  function refresh() {
    fetch("api/data" + location.search, { cache: "no-store" })
      .then(function (r) {
        if (!r.ok) { throw new Error("the server answered " + r.status); }
        return r.json();
      })
      .then(function (d) {
        data = d;
        drawAll();
        var live = applyRuns(d.runs);
        updates++;
        document.body.dataset.updates = updates;
        status.textContent = "Live: " + live + " run" + (live === 1 ? "" : "s") + " training; updated " + d.generated + " UTC.";
      })
      .catch(function (e) { status.textContent = "Live: no update (" + e.message + "); retrying."; })
      .then(function () { setTimeout(refresh, 3000); });
  }
  setTimeout(refresh, 3000);
})();
