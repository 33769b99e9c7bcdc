/**
 * The report's in-page script, kept as a plain ES5-style string so what ships is exactly what is written
 * here (no compiler helpers, no module loader): the report must open from a file:// URL with no network.
 *
 * It reads the JSON payload from `<script type="application/json" id="report-data">` and draws:
 * - line charts (loss, gradient norm, forecast) with uPlot, which report.ts inlines before this script;
 * - activation heatmaps (units × time) and the input strip above them on plain <canvas>, one ImageData
 *   pixel per (t, unit) scaled up with smoothing off so every cell is a crisp block; a text input's
 *   characters label the time axis under every heatmap.
 * Every plot element gets `data-rendered="true"` once drawn; any failure goes to console.error so the
 * Chromium test sees it. Text from the data is only ever written with textContent or fillText.
 */
export const CLIENT_JS = String.raw`(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('report-data').textContent);
  var VIR = D.colormaps.viridis, DIV = D.colormaps.diverging;
  var redraws = [];

  function fail(where, e) {
    console.error('rnnkit report: ' + where + ' failed: ' + ((e && e.stack) || e));
  }

  // Short numbers for axes, legends and tooltips: 3 significant digits, exponent outside [1e-3, 1e4).
  function fmt(v) {
    if (v == null || !isFinite(v)) return '–';
    var a = Math.abs(v);
    if (a === 0) return '0';
    if (a >= 1e4 || a < 1e-3) return v.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
    return String(+v.toPrecision(3));
  }

  // Axis labels: uPlot passes null for ticks it wants unlabeled (minor log ticks).
  function tick(v) { return v == null ? '' : fmt(v); }

  // Linear-axis labels with the decimals of the tick step (uPlot's foundIncr): fmt's 3 significant digits
  // would print 402.5, 405, 407.5 as 403, 405, 408 on a CO2 axis. fmt still for log axes and long labels.
  function ticks(splits, incr) {
    var s = incr > 0 ? String(+incr.toPrecision(6)) : '';
    var d = s.indexOf('e') >= 0 ? -1 : s.indexOf('.') < 0 ? 0 : s.length - s.indexOf('.') - 1;
    return splits.map(function (v) {
      if (v == null) return '';
      var text = d >= 0 ? v.toFixed(d) : '';
      return text && text.length <= 8 ? String(+text) : fmt(v);
    });
  }

  function sample(tab, t) {
    var x = Math.min(1, Math.max(0, isFinite(t) ? t : 0)) * (tab.length - 1);
    var i = Math.min(tab.length - 2, Math.floor(x)), f = x - i, a = tab[i], b = tab[i + 1];
    return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
  }

  // A range straddling zero is signed (hidden/cell state): diverging map with white pinned at 0, each
  // side scaled to its own end so an asymmetric range still puts 0 at white. Otherwise viridis.
  function scaleFor(range) {
    var lo = range[0], hi = range[1];
    if (lo < 0 && hi > 0) {
      return function (v) {
        return v < 0 ? sample(DIV, 0.5 - 0.5 * Math.min(1, v / lo)) : sample(DIV, 0.5 + 0.5 * Math.min(1, v / hi));
      };
    }
    var span = hi - lo || 1;
    return function (v) { return sample(VIR, (v - lo) / span); };
  }

  function rgb(c) { return 'rgb(' + Math.round(c[0]) + ',' + Math.round(c[1]) + ',' + Math.round(c[2]) + ')'; }

  function nice(step) {
    if (!(step > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log(step) / Math.LN10)), m = step / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function widthOf(el) { return Math.max(300, Math.floor(el.getBoundingClientRect().width)); }

  // ---------------------------------------------------------------- line charts (uPlot)
  function positive(v) { return v != null && v > 0 ? v : null; }

  function lineChart(el, spec) {
    var u = null, height = spec.height || 260;
    var canLog = spec.series.some(function (s) { return s.values.some(function (v) { return v != null && v > 0; }); });
    if (spec.toggle && !canLog) { spec.toggle.checked = false; spec.toggle.disabled = true; }
    function build() {
      if (u) u.destroy();
      var log = !!(spec.toggle ? spec.toggle.checked : spec.log) && canLog;
      var data = [spec.x].concat(spec.series.map(function (s) { return log ? s.values.map(positive) : s.values; }));
      var intX = spec.integerX, time = !!spec.time;
      // Time axes (x in epoch seconds): uPlot's own date ticks, shown in UTC like the data, not the viewer's zone.
      var xAxis = time ? { label: spec.xLabel } : { label: spec.xLabel, incrs: intX ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] : undefined,
        values: function (_, splits) { return splits.map(function (v) { return v == null ? '' : intX ? String(v) : fmt(v); }); } };
      u = new uPlot({
        width: widthOf(el),
        height: height,
        tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'); },
        scales: { x: { time: time }, y: log ? { distr: 3, log: 10 } : {} },
        axes: [
          xAxis,
          { label: spec.yLabel, size: 64, values: function (_, splits, _axis, _space, incr) { return log ? splits.map(tick) : ticks(splits, incr); } },
        ],
        series: [{ label: spec.xLabel, value: function (_, v) { return v == null ? '–' : time ? dateText(v) : String(v); } }].concat(spec.series.map(function (s) {
          return { label: s.label, stroke: s.stroke, width: s.width || 2, dash: s.dash,
            points: { show: !s.dash && !s.edge && spec.x.length <= 40, size: spec.x.length <= 2 ? 10 : 6, fill: s.stroke }, value: function (_, v) { return fmt(v); } };
        })),
        cursor: { drag: { x: true, y: false } },
        bands: spec.bands,
      }, data, el);
    }
    build();
    if (spec.toggle) spec.toggle.addEventListener('change', function () {
      try { build(); } catch (e) { fail(el.id + ' (log toggle)', e); }
    });
    redraws.push(function () { if (u) u.setSize({ width: widthOf(el), height: height }); });
  }

  // A legend date: "2012-01-31", or with the time of day when it has one (UTC, like the data).
  function dateText(sec) {
    var iso = new Date(sec * 1000).toISOString();
    return iso.slice(11, 19) === '00:00:00' ? iso.slice(0, 10) : iso.slice(0, 16).replace('T', ' ');
  }

  function epochs(n) { var x = []; for (var i = 1; i <= n; i++) x.push(i); return x; }

  function pad(values, n) { var out = values.slice(0, n); while (out.length < n) out.push(null); return out; }

  function plot(id, draw) {
    var el = document.getElementById(id);
    if (!el) return;
    try { draw(el); el.setAttribute('data-rendered', 'true'); } catch (e) { el.setAttribute('data-error', 'true'); fail(id, e); }
  }

  var H = D.history;
  plot('plot-loss', function (el) {
    var n = Math.max(H.loss.length, H.valLoss ? H.valLoss.length : 0);
    var series = [{ label: 'train loss', values: pad(H.loss, n), stroke: '#1f77b4' }];
    if (H.valLoss) series.push({ label: 'validation loss', values: pad(H.valLoss, n), stroke: '#ff7f0e' });
    lineChart(el, { x: epochs(n), series: series, xLabel: 'epoch', yLabel: 'loss', integerX: true,
      toggle: document.getElementById('log-loss') });
  });

  plot('plot-grad', function (el) {
    var n = H.gradNorm.length;
    var series = [{ label: 'global grad norm', values: H.gradNorm, stroke: '#2ca02c' }];
    if (D.clip != null) {
      series.push({ label: 'clip threshold', values: H.gradNorm.map(function () { return D.clip; }), stroke: '#888', width: 1, dash: [6, 4] });
    }
    lineChart(el, { x: epochs(n), series: series, xLabel: 'epoch', yLabel: 'L2 norm', integerX: true,
      toggle: document.getElementById('log-grad') });
  });

  plot('plot-forecast', function (el) {
    var F = D.forecast, n = Math.max(F.truth.length, F.predicted.length), x = [];
    for (var i = 0; i < n; i++) x.push(F.dates ? F.dates[i] : F.startIndex + i);
    var series = [
      { label: 'truth', values: pad(F.truth, n), stroke: '#333' },
      { label: 'model', values: pad(F.predicted, n), stroke: '#d62728' },
    ];
    var colours = ['#1f77b4', '#2ca02c'];
    (F.baselines || []).forEach(function (b, k) {
      series.push({ label: b.name, values: pad(b.values, n), stroke: colours[k % 2], width: 1, dash: [5, 3] });
    });
    var bands;
    if (F.band) {
      // uPlot fills between two series (indices count the x column as 0): upper, then lower; edges without point markers.
      var up = series.length + 1;
      series.push({ label: F.band.label + ' upper', values: pad(F.band.upper, n), stroke: 'rgba(214,39,40,0.35)', width: 1, edge: true });
      series.push({ label: F.band.label + ' lower', values: pad(F.band.lower, n), stroke: 'rgba(214,39,40,0.35)', width: 1, edge: true });
      bands = [{ series: [up, up + 1], fill: 'rgba(214,39,40,0.12)' }];
    }
    lineChart(el, { x: x, xLabel: F.dates ? 'date' : 'time step', time: !!F.dates, yLabel: 'value', integerX: !F.dates, height: 300, series: series, bands: bands });
  });

  // ---------------------------------------------------------------- activation heatmaps (canvas)
  var ML = 64, MR = 86; // left margin (unit labels), right margin (colour bar); shared so time columns align

  function setupCanvas(cv, w, h) {
    var r = window.devicePixelRatio || 1;
    cv.width = Math.round(w * r); cv.height = Math.round(h * r);
    cv.style.width = w + 'px'; cv.style.height = h + 'px';
    var ctx = cv.getContext('2d');
    ctx.setTransform(r, 0, 0, r, 0, 0);
    ctx.font = '11px system-ui, sans-serif';
    return ctx;
  }

  function timeTicks(ctx, T, x0, w, y) {
    var step = Math.max(1, nice(T / Math.max(2, Math.floor(w / 70))));
    ctx.fillStyle = '#555'; ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    for (var t = 0; t < T; t += step) {
      var x = x0 + (t + 0.5) * w / T;
      ctx.fillRect(x - 0.5, y, 1, 4);
      ctx.fillText(String(t), x, y + 5);
    }
  }

  function drawInput(cv, A, W) {
    var T = A.steps, pw = W - ML - MR, top = 6, ph = 64, Ht = top + ph + 24;
    var ctx = setupCanvas(cv, W, Ht), xs = A.input, lo = Infinity, hi = -Infinity, t;
    for (t = 0; t < T; t++) if (xs[t] != null) { lo = Math.min(lo, xs[t]); hi = Math.max(hi, xs[t]); }
    if (!(hi >= lo)) { lo = -1; hi = 1; }
    if (hi === lo) { lo -= 1; hi += 1; }
    var m = (hi - lo) * 0.08; lo -= m; hi += m;
    function X(t) { return ML + (t + 0.5) * pw / T; }
    function Y(v) { return top + ph - (v - lo) / (hi - lo) * ph; }
    ctx.fillStyle = '#fafafa'; ctx.fillRect(ML, top, pw, ph);
    ctx.strokeStyle = '#ddd'; ctx.strokeRect(ML + 0.5, top + 0.5, pw - 1, ph - 1);
    if (lo < 0 && hi > 0) { ctx.strokeStyle = '#ccc'; ctx.beginPath(); ctx.moveTo(ML, Y(0)); ctx.lineTo(ML + pw, Y(0)); ctx.stroke(); }
    ctx.strokeStyle = '#1f77b4'; ctx.lineWidth = 1.5; ctx.beginPath();
    var pen = false;
    for (t = 0; t < T; t++) {
      if (xs[t] == null) { pen = false; continue; }
      if (pen) ctx.lineTo(X(t), Y(xs[t])); else ctx.moveTo(X(t), Y(xs[t]));
      pen = true;
    }
    ctx.stroke();
    if (T <= 80) {
      ctx.fillStyle = '#1f77b4';
      for (t = 0; t < T; t++) if (xs[t] != null) { ctx.beginPath(); ctx.arc(X(t), Y(xs[t]), 2, 0, 7); ctx.fill(); }
    }
    ctx.fillStyle = '#555'; ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
    ctx.fillText(fmt(hi - m), ML - 6, Y(hi - m)); ctx.fillText(fmt(lo + m), ML - 6, Y(lo + m));
    timeTicks(ctx, T, ML, pw, top + ph + 2);
  }

  // One label per time step (characters of a text input) on the x axis; columns are at least LABEL_W
  // pixels wide (the heatmaps scroll sideways when that is wider than the page). Stand-ins for invisible
  // characters (␣ ⏎ ⇥, escapes) in blue, and ⏎, a small glyph in most fonts, larger. Returns the height used.
  var LABEL_W = 10, STAND_INS = { '␣': 1, '⏎': 1, '⇥': 1 };
  function charAxis(ctx, labels, x0, w, y) {
    var T = labels.length, cw = w / T, size = cw >= 11 ? 12 : 10;
    ctx.save();
    ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
    for (var t = 0; t < T; t++) {
      var x = x0 + (t + 0.5) * cw, s = labels[t], standIn = STAND_INS[s] || s.length > 1;
      if (t % 2 === 0) { ctx.fillStyle = '#eef2f6'; ctx.fillRect(x0 + t * cw, y, cw, 16); }
      ctx.font = '600 ' + (s === '⏎' ? size + 4 : size) + 'px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
      ctx.fillStyle = standIn ? '#1f5fa8' : '#1d2329';
      ctx.fillText(s, x, y + 8.5);
    }
    ctx.restore();
    return 17;
  }

  function drawPanel(cv, p, T, W, labels) {
    var pw = W - ML - MR, top = 6;
    var ph = Math.max(56, Math.min(240, p.units * 7)), Ht = top + ph + 24 + (labels ? 17 : 0);
    var ctx = setupCanvas(cv, W, Ht), col = scaleFor(p.range);
    var off = document.createElement('canvas');
    off.width = T; off.height = p.units;
    var octx = off.getContext('2d'), img = octx.createImageData(T, p.units), d = img.data;
    for (var t = 0; t < T; t++) {
      var row = p.values[t];
      for (var u = 0; u < p.units; u++) {
        var v = row[u], k = (u * T + t) * 4, c = v == null ? [160, 160, 160] : col(v);
        d[k] = c[0]; d[k + 1] = c[1]; d[k + 2] = c[2]; d[k + 3] = 255;
      }
    }
    octx.putImageData(img, 0, 0);
    // Upscaling: nearest neighbour keeps cells crisp. Downscaling (more units/steps than pixels): smooth.
    ctx.imageSmoothingEnabled = pw < T || ph < p.units;
    ctx.drawImage(off, ML, top, pw, ph);
    ctx.strokeStyle = '#bbb'; ctx.strokeRect(ML - 0.5, top - 0.5, pw + 1, ph + 1);

    var rowH = ph / p.units, ustep = Math.max(1, nice(p.units / Math.max(1, Math.floor(ph / 16))));
    ctx.fillStyle = '#555'; ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
    for (var uu = 0; uu < p.units; uu += ustep) ctx.fillText(String(uu), ML - 6, top + (uu + 0.5) * rowH);
    ctx.save(); ctx.translate(14, top + ph / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = 'center';
    ctx.fillText('unit', 0, 0); ctx.restore();
    timeTicks(ctx, T, ML, pw, top + ph + 2 + (labels ? charAxis(ctx, labels, ML, pw, top + ph + 1) : 0));

    var lo = p.range[0], hi = p.range[1], bx = ML + pw + 14, bw = 12;
    for (var i = 0; i < ph; i++) { ctx.fillStyle = rgb(col(hi - (hi - lo) * i / Math.max(1, ph - 1))); ctx.fillRect(bx, top + i, bw, 1); }
    ctx.strokeStyle = '#999'; ctx.strokeRect(bx - 0.5, top - 0.5, bw + 1, ph + 1);
    ctx.fillStyle = '#333'; ctx.textAlign = 'left';
    var mid = lo < 0 && hi > 0 ? 0 : (lo + hi) / 2;
    ctx.textBaseline = 'top'; ctx.fillText(fmt(hi), bx + bw + 5, top);
    ctx.textBaseline = 'middle'; ctx.fillText(fmt(mid), bx + bw + 5, top + (hi - mid) / (hi - lo || 1) * ph);
    ctx.textBaseline = 'bottom'; ctx.fillText(fmt(lo), bx + bw + 5, top + ph);
    cv._hit = { T: T, units: p.units, x0: ML, top: top, pw: pw, ph: ph, values: p.values, name: p.name, labels: labels };
  }

  var tip = null;
  function hover(cv) {
    cv.addEventListener('mousemove', function (e) {
      var h = cv._hit, r = cv.getBoundingClientRect();
      if (!h) return;
      var t = Math.floor((e.clientX - r.left - ML) / h.pw * h.T), u = Math.floor((e.clientY - r.top - h.top) / h.ph * h.units);
      if (t < 0 || t >= h.T || u < 0 || u >= h.units) { tip.style.display = 'none'; return; }
      tip.textContent = h.name + ' · t ' + t + (h.labels ? ' (' + h.labels[t] + ')' : '') + ' · unit ' + u + ' · ' + fmt(h.values[t][u]);
      tip.style.display = 'block';
      tip.style.left = (e.pageX + 12) + 'px'; tip.style.top = (e.pageY + 12) + 'px';
    });
    cv.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  }

  plot('plot-activations', function (el) {
    var A = D.activations;
    tip = document.createElement('div'); tip.className = 'tip'; document.body.appendChild(tip);
    var inputCv = document.getElementById('act-input');
    var canvases = A.panels.map(function (_, i) { var cv = document.getElementById('act-panel-' + i); hover(cv); return cv; });
    var lastW = -1;
    function draw() {
      var W = widthOf(el);
      if (W === lastW) return;
      lastW = W;
      if (inputCv && A.input) drawInput(inputCv, A, W);
      var Wp = A.labels ? Math.max(W, ML + MR + A.steps * LABEL_W) : W;
      A.panels.forEach(function (p, i) { drawPanel(canvases[i], p, A.steps, Wp, A.labels); });
    }
    draw();
    redraws.push(draw);
  });

  var pending = 0;
  window.addEventListener('resize', function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      redraws.forEach(function (f) { try { f(); } catch (e) { fail('resize', e); } });
    }, 100);
  });
})();
`;
