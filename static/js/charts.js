/* Draws every chart spec (templates/partials/chart.html, built by common/charts.py) with
   the vendored uPlot: axis names with units, hover values in the legend, drag to zoom on x
   (double-click resets), bars, whiskers for intervals, a dashed reference line, and on
   training curves an EMA smoothing slider (as in TensorBoard) with the raw curve faint
   behind. Charts of one group (a run's curves, the compare page) share the slider.
   Runs on page load and on every htmx swap (the run page refreshes while it trains). */
(function () {
  "use strict";

  const FONT = '13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const LABEL_FONT = '600 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const INK = "#1c2330";
  const GRID = "#e3e7ee";
  const REFERENCE = "#5d6678";
  const SMOOTHING = 0.6; // TensorBoard's default
  const smoothing = {}; // group -> weight, kept across htmx swaps of the page
  const zooms = {}; // group|title -> [min, max] of x a person zoomed to, kept across swaps
  const drawn = new Set(); // {figure, plot, redraw} of every chart on the page

  function formatter(format) {
    return function (value) {
      if (value == null || !Number.isFinite(value)) return "—";
      if (format.style === "%") return (value * 100).toFixed(format.decimals) + "%";
      if (format.style === "e") return value.toExponential(format.decimals);
      if (format.style === "f") return value.toFixed(format.decimals);
      return String(Number(value.toPrecision(format.decimals || 6)));
    };
  }

  function clip(text, room) {
    return text.length > room ? text.slice(0, room - 1) + "…" : text;
  }

  /* A category's tick: a note in brackets ("m1 (42 games)") goes on a second line. */
  function tickLabel(label) {
    const cut = label.indexOf(" (");
    if (cut < 0) return clip(label, 18);
    return clip(label.slice(0, cut), 18) + "\n" + clip(label.slice(cut + 1), 18);
  }

  /* Exponential moving average with TensorBoard's debiasing; gaps stay gaps. */
  function ema(values, weight) {
    let last = 0;
    let n = 0;
    return values.map(function (v) {
      if (v == null || !Number.isFinite(v)) return v;
      n += 1;
      last = last * weight + (1 - weight) * v;
      return weight === 0 ? v : last / (1 - Math.pow(weight, n));
    });
  }

  /* The raw trace behind a smoothed line: its own colour, faint, so that on the compare
     page each run's raw curve is still told apart by its colour. */
  function faint(hex) {
    return hex + "66"; // 40% opacity
  }

  const FEW_POINTS = 2;

  /* A line through one point draws nothing, so a series of a few points (an evaluation
     or two) is drawn with markers on it. */
  function markers(values, colour) {
    const count = values.filter(function (v) { return v != null && Number.isFinite(v); }).length;
    return count > FEW_POINTS ? { show: false } : { show: true, size: 8, fill: colour, stroke: colour };
  }

  /* The y axis's width: room for its longest tick label (uPlot's axis auto-size recipe),
     and a gap between those labels and the axis's title beside them. */
  const TITLE_GAP = 8;
  function axisSize(u, values, axisIdx, cycle) {
    const axis = u.axes[axisIdx];
    if (cycle > 1) return axis._size;
    let size = axis.ticks.size + axis.gap + TITLE_GAP;
    const longest = (values || []).reduce(function (a, v) { return v.length > a.length ? v : a; }, "");
    if (longest) {
      u.ctx.font = axis.font[0];
      size += u.ctx.measureText(longest).width / uPlot.pxRatio;
    }
    return Math.ceil(size);
  }

  function xAxisSplits(spec) {
    const labels = spec.x.labels;
    const widest = labels.map(function (l) {
      return Math.max.apply(null, tickLabel(l).split("\n").map(function (line) { return line.length; }));
    });
    const room = Math.max.apply(null, widest.concat([4]));
    return function (u, axisIdx, min, max) {
      const first = Math.max(0, Math.ceil(min));
      const last = Math.min(labels.length - 1, Math.floor(max));
      const fits = Math.max(1, Math.floor(u.bbox.width / uPlot.pxRatio / (room * 7.5 + 16)));
      const count = last - first + 1;
      const step = Math.max(1, Math.ceil(count / fits));
      const out = [];
      for (let i = first; i <= last; i += step) out.push(i);
      return out;
    };
  }

  /* Data, series and hooks of one spec, for the current smoothing weight. */
  function build(spec, weight) {
    const tables = spec.series.map(function (s) {
      return [s.points.map(function (p) { return p[0]; }), s.points.map(function (p) { return p[1]; })];
    });
    const joined = uPlot.join(tables);
    const xs = joined[0];
    const raw = joined.slice(1);
    const xText = spec.x.labels.length
      ? function (v) { return v == null ? "—" : (spec.x.labels[v] !== undefined ? spec.x.labels[v] : String(v)); }
      : formatter(spec.x.format);
    const yText = formatter(spec.y.format);
    const data = [xs];
    const series = [{ label: spec.x.title, value: function (u, v) { return xText(v); } }];
    const intervals = spec.series.map(function (s) {
      const byX = new Map();
      s.intervals.forEach(function (pair, i) { if (pair) byX.set(s.points[i][0], pair); });
      return byX;
    });
    const bars = spec.kind === "bar" ? uPlot.paths.bars({ size: [0.6, 72], align: 0 }) : null;
    const order = spec.stacked ? spec.series.map(function (_, i) { return i; }).reverse() : spec.series.map(function (_, i) { return i; });
    const cumulative = spec.stacked ? stack(raw) : null;

    order.forEach(function (k) {
      const s = spec.series[k];
      const values = raw[k];
      function shown(u, v, si, idx) {
        if (idx == null) return "—";
        let text = yText(values[idx]);
        const pair = intervals[k].get(xs[idx]);
        if (pair) text += " (" + yText(pair[0]) + " to " + yText(pair[1]) + ")";
        return text;
      }
      if (spec.smooth) {
        data.push(values);
        series.push({ label: s.name + " (raw)", stroke: faint(s.colour), width: 1.25, points: { show: false }, value: shown });
        data.push(ema(values, weight));
        series.push({ label: s.name, stroke: s.colour, width: 2, points: markers(values, s.colour),
          value: function (u, v) { return yText(v); } });
        return;
      }
      data.push(spec.stacked ? cumulative[k] : values);
      const one = { label: s.name, stroke: s.colour, width: 2, value: shown, points: markers(values, s.colour) };
      if (bars) {
        Object.assign(one, { paths: bars, fill: s.colour + (spec.stacked ? "" : "cc"), width: 1, points: { show: false } });
      } else if (spec.kind === "scatter") {
        Object.assign(one, { paths: function () { return null; }, points: { show: true, size: 7, fill: s.colour } });
      }
      series.push(one);
    });
    return { data: data, series: series, intervals: intervals, xText: xText, yText: yText };
  }

  /* Running totals, series by series; a missing bar counts as 0. */
  function stack(raw) {
    const totals = raw[0] ? raw[0].map(function () { return 0; }) : [];
    return raw.map(function (values) {
      return values.map(function (v, i) {
        totals[i] += v == null ? 0 : v;
        return totals[i];
      });
    });
  }

  function drawExtras(spec, built) {
    return function (u) {
      const ctx = u.ctx;
      const box = u.bbox;
      ctx.save();
      ctx.beginPath();
      ctx.rect(box.left, box.top, box.width, box.height);
      ctx.clip();
      ctx.lineWidth = 1.5 * uPlot.pxRatio;
      spec.series.forEach(function (s, k) {
        ctx.strokeStyle = INK;
        built.intervals[k].forEach(function (pair, x) {
          const cx = u.valToPos(x, "x", true);
          const lo = u.valToPos(pair[0], "y", true);
          const hi = u.valToPos(pair[1], "y", true);
          const cap = 6 * uPlot.pxRatio;
          ctx.beginPath();
          ctx.moveTo(cx, lo); ctx.lineTo(cx, hi);
          ctx.moveTo(cx - cap, lo); ctx.lineTo(cx + cap, lo);
          ctx.moveTo(cx - cap, hi); ctx.lineTo(cx + cap, hi);
          ctx.stroke();
        });
      });
      if (spec.reference) {
        const y = u.valToPos(spec.reference.value, "y", true);
        ctx.strokeStyle = REFERENCE;
        ctx.setLineDash([6 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
        ctx.beginPath();
        ctx.moveTo(box.left, y); ctx.lineTo(box.left + box.width, y);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = REFERENCE;
        ctx.font = (12 * uPlot.pxRatio) + 'px system-ui, sans-serif';
        ctx.textAlign = "right";
        ctx.textBaseline = "bottom";
        ctx.fillText(spec.reference.label + " " + built.yText(spec.reference.value), box.left + box.width - 4, y - 3);
      }
      ctx.restore();
    };
  }

  function options(spec, built, width) {
    const categorical = spec.x.labels.length > 0;
    const bar = spec.kind === "bar";
    const integerY = spec.y.format.style === "f" && spec.y.format.decimals === 0;
    const positive = built.data.slice(1).every(function (vs) { return vs.every(function (v) { return v == null || v > 0; }); });
    const yScale = spec.y.log && positive ? { distr: 3 } : {
      range: function (u, lo, hi) {
        if (lo == null) return [spec.y.min == null ? 0 : spec.y.min, spec.y.max == null ? 1 : spec.y.max];
        const auto = uPlot.rangeNum(bar ? Math.min(0, lo) : lo, hi, 0.1, true);
        const min = spec.y.min == null ? auto[0] : Math.min(spec.y.min, lo);
        const max = spec.y.max == null ? auto[1] : Math.max(spec.y.max, hi);
        return [min, max];
      },
    };
    /* A window inside the data is a zoom and is kept as asked. Otherwise the range is read
       from the data (uPlot pre-pads a single x value before asking). */
    const xScale = {
      time: false,
      range: function (u, min, max) {
        const xs = u.data[0];
        const lo = xs[0];
        const hi = xs[xs.length - 1];
        if (min != null && max != null && (min > lo || max < hi)) return [min, max];
        if (bar) return [lo - 0.5, hi + 0.5];
        return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
      },
    };
    const xAxis = {
      label: spec.x.title, font: FONT, labelFont: LABEL_FONT, stroke: INK, labelSize: 22,
      grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID },
      values: function (u, splits) {
        return splits.map(function (v) { return categorical ? tickLabel(built.xText(v)) : built.xText(v); });
      },
    };
    if (categorical) {
      const twoLines = spec.x.labels.some(function (l) { return tickLabel(l).indexOf("\n") >= 0; });
      Object.assign(xAxis, { splits: xAxisSplits(spec), grid: { show: false }, size: twoLines ? 54 : 36 });
    }
    else if (spec.x.format.style === "f" && spec.x.format.decimals === 0) xAxis.incrs = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
    const yAxis = {
      label: spec.y.title, font: FONT, labelFont: LABEL_FONT, stroke: INK, labelSize: 22, size: axisSize,
      grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID },
      values: function (u, splits) { return splits.map(built.yText); },
    };
    if (integerY) yAxis.incrs = xAxis.incrs || [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6];
    return {
      width: width,
      height: width < 480 ? 220 : 260,
      series: built.series,
      scales: { x: xScale, y: yScale },
      axes: [xAxis, yAxis],
      cursor: { drag: { x: true, y: false }, focus: { prox: 24 }, points: { size: 7 } },
      focus: { alpha: 0.35 },
      legend: { live: true },
      hooks: { draw: [drawExtras(spec, built)] },
    };
  }

  function slider(figure, group) {
    const label = document.createElement("label");
    label.className = "chart-smooth";
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: "0", max: "0.99", step: "0.01", value: String(smoothing[group]) });
    input.dataset.chartGroup = group;
    const out = document.createElement("output");
    out.textContent = smoothing[group].toFixed(2);
    label.append("Smoothing ", input, out);
    input.addEventListener("input", function () {
      smoothing[group] = Number(input.value);
      drawn.forEach(function (chart) {
        if (chart.group !== group || !chart.input) return; // a schedule has no slider
        chart.input.value = input.value;
        chart.output.textContent = smoothing[group].toFixed(2);
        chart.redraw();
      });
    });
    figure.querySelector("figcaption").after(label);
    return { input: input, output: out };
  }

  /* A zoom outlives the htmx swap that redraws a training run's charts every few seconds;
     double-click (the full range again) forgets it. */
  function rememberZoom(u, key) {
    const xs = u.data[0];
    if (!xs || !xs.length) return;
    const min = u.scales.x.min;
    const max = u.scales.x.max;
    const figure = u.root.closest("figure");
    if (min <= xs[0] && max >= xs[xs.length - 1]) {
      delete zooms[key];
      if (figure) delete figure.dataset.zoom;
    } else {
      zooms[key] = [min, max];
      if (figure) figure.dataset.zoom = min.toFixed(3) + " " + max.toFixed(3); // what is shown
    }
  }

  function draw(figure) {
    if (figure.dataset.drawn) return;
    const json = figure.querySelector('script[type="application/json"]');
    const holder = figure.querySelector(".chart-plot");
    if (!json || !holder) return;
    figure.dataset.drawn = "1";
    const spec = JSON.parse(json.textContent);
    const group = spec.group || "chart";
    if (smoothing[group] === undefined) smoothing[group] = SMOOTHING;
    let built = build(spec, spec.smooth ? smoothing[group] : 0);
    const key = group + "|" + (spec.title || "");
    const zoomed = zooms[key]; // read first: drawing sets the full range, which forgets it
    const opts = options(spec, built, holder.clientWidth || 600);
    opts.hooks = opts.hooks || {};
    opts.hooks.setScale = (opts.hooks.setScale || []).concat(function (u, scale) {
      if (scale === "x") rememberZoom(u, key);
    });
    const plot = new uPlot(opts, built.data, holder);
    if (zoomed) plot.setScale("x", { min: zoomed[0], max: zoomed[1] });
    const chart = { figure: figure, plot: plot, group: group };
    if (spec.smooth) {
      Object.assign(chart, slider(figure, group));
      chart.redraw = function () {
        built = build(spec, smoothing[group]);
        plot.setData(built.data, false);
      };
    }
    drawn.add(chart);
    const details = figure.querySelector("details.chart-data");
    if (details) details.open = false; // the table stays one click away
    const resize = new ResizeObserver(function () {
      if (!holder.isConnected) {
        resize.disconnect();
        plot.destroy();
        drawn.delete(chart);
        return;
      }
      const width = holder.clientWidth;
      if (width && width !== plot.width) plot.setSize({ width: width, height: width < 480 ? 220 : 260 });
    });
    resize.observe(holder);
  }

  function drawWithin(root) {
    if (!root || !root.querySelectorAll || typeof uPlot === "undefined") return;
    if (root.matches && root.matches("figure.chart")) draw(root);
    root.querySelectorAll("figure.chart").forEach(draw);
  }

  drawWithin(document);
  document.addEventListener("htmx:load", function (event) { drawWithin(event.target); });
})();
