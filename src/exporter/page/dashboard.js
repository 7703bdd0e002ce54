/*
 * The exporter's page (served at /page/dashboard.js): polls api/v1/overview (relative, so the
 * page works behind any path prefix) and draws tiles, SVG charts and tables. User-supplied
 * text (labels, ids) is only ever set through textContent, never parsed as HTML, and no style
 * is set through attributes, so the page runs under a CSP without 'unsafe-inline'.
 */
'use strict';
const REFRESH_MS = Math.max(500, Number(new URLSearchParams(location.search).get('refresh') || 2) * 1000);
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

function el(tag, attrs, text) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function fmtNumber(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return Number(v.toFixed(digits === undefined ? 2 : digits)).toString();
}
function fmtSeconds(s) {
  if (s === null || s === undefined) return '–';
  if (s < 1) return Math.round(s * 1000) + ' ms';
  if (s < 120) return fmtNumber(s, 1) + ' s';
  if (s < 7200) return fmtNumber(s / 60, 1) + ' min';
  return fmtNumber(s / 3600, 1) + ' h';
}
/** ISO 8601 in the browser's zone with its UTC offset: 2025-06-15T14:00:05+02:00 (Z in UTC); timeOnly drops the date. */
function fmtTime(ms, timeOnly) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  const zone = offset === 0 ? 'Z' : (offset > 0 ? '+' : '-') + pad(Math.floor(Math.abs(offset) / 60)) + ':' + pad(Math.abs(offset) % 60);
  const time = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + zone;
  return timeOnly ? time : d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + time;
}
function fmtPercent(r) {
  return r === null || r === undefined ? '–' : fmtNumber(r * 100, 2) + ' %';
}
function fmtUsd(v) {
  if (v === null || v === undefined) return '–';
  return v >= 1 ? '$' + v.toFixed(2) : v >= 0.01 ? '$' + v.toFixed(4) : '$' + v.toPrecision(3);
}

function setTile(id, value, text) {
  const node = $(id);
  node.dataset.value = value === null || value === undefined ? '' : String(value);
  node.textContent = text;
}

/**
 * A line chart of [{name, color, points: [[t, v|null]]}] into an <svg viewBox="0 0 600 180">.
 * Later series are drawn on top. Counts (integer) get whole-number gridlines.
 */
function lineChart(svg, series, format, integer) {
  svg.replaceChildren();
  const W = 600,
    H = 180,
    L = 48,
    R = 8,
    T = 8,
    B = 22;
  const all = series.flatMap((s) => s.points);
  const ts = all.map((p) => p[0]);
  const vs = all.map((p) => p[1]).filter((v) => v !== null && Number.isFinite(v));
  if (ts.length === 0) {
    svg.append(el('svg:text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no data yet'));
    return;
  }
  const t0 = Math.min(...ts),
    t1 = Math.max(...ts, t0 + 1000);
  let vmax = Math.max(0, ...vs);
  vmax = integer ? Math.max(4, Math.ceil((vmax * 1.1) / 4) * 4) : vmax === 0 ? 1 : vmax * 1.1;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / vmax) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = (vmax * i) / 4;
    svg.append(el('svg:line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    svg.append(el('svg:text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' }, format(v)));
  }
  for (const [t, anchor] of [
    [t0, 'start'],
    [t1, 'end'],
  ]) {
    svg.append(el('svg:text', { x: x(t), y: H - 6, 'text-anchor': anchor }, fmtTime(t, true)));
  }
  for (const s of series) {
    let d = '';
    let pen = false;
    for (const [t, v] of s.points) {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        continue;
      }
      d += (pen ? 'L' : 'M') + x(t).toFixed(1) + ' ' + y(v).toFixed(1) + ' ';
      pen = true;
    }
    if (d) {
      const path = el('svg:path', { class: 'series', d, 'data-series': s.name });
      path.style.stroke = s.color;
      svg.append(path);
    }
  }
}

function legend(id, series) {
  const box = $(id);
  box.replaceChildren(
    ...series.map((s) => {
      const item = el('span');
      const swatch = el('i');
      swatch.style.background = s.color;
      item.append(swatch, document.createTextNode(s.name));
      return item;
    }),
  );
}

function bar(ratio, cls) {
  const outer = el('div', { class: 'bar' + (cls ? ' ' + cls : '') });
  const inner = el('span');
  inner.style.width = Math.max(0, Math.min(1, ratio)) * 100 + '%';
  outer.append(inner);
  return outer;
}

function labelsText(labels) {
  const entries = Object.entries(labels || {});
  return entries.length ? entries.map(([k, v]) => k + '=' + v).join(', ') : '–';
}

function renderBatches(batches) {
  const body = $('batches');
  if (batches.length === 0) {
    body.replaceChildren(el('tr', {}, ''));
    body.firstChild.append(el('td', { colspan: 6, class: 'empty' }, 'No batch in progress.'));
    return;
  }
  body.replaceChildren(
    ...batches.map((b) => {
      const row = el('tr', { 'data-batch-id': b.id, 'data-progress': b.progress });
      const total = b.chunks.total === null ? b.chunks.enqueued + '+' : b.chunks.total;
      const progress = el('td');
      progress.append(bar(b.progress), el('small', {}, b.chunks.completed + b.chunks.failed + ' / ' + total + ' chunks'));
      row.append(
        el('td', {}, ''),
        el('td', {}, b.status),
        el('td', {}, labelsText(b.labels)),
        progress,
        el('td', { class: 'num' }, fmtNumber(b.records.succeeded + b.records.failed, 0)),
        el('td', { class: 'num' }, fmtUsd(b.costUsd)),
      );
      row.firstChild.append(el('code', {}, b.id));
      return row;
    }),
  );
}

function renderCost(cost) {
  $('cost-month').textContent = cost.month;
  const body = $('cost');
  if (cost.teams.length === 0) {
    body.replaceChildren(el('tr'));
    body.firstChild.append(el('td', { colspan: 6, class: 'empty' }, 'No cost accounted yet.'));
    return;
  }
  body.replaceChildren(
    ...cost.teams.map((t) => {
      const row = el('tr', { 'data-team': t.team, 'data-usd': t.usd, 'data-cpu-seconds': t.cpuSeconds, 'data-month-usd': t.monthUsd });
      const budget = el('td');
      if (t.budgetUsd === null) budget.textContent = 'no budget';
      else {
        const r = t.budgetUsedRatio === null ? (t.monthUsd > 0 ? Infinity : 0) : t.budgetUsedRatio;
        budget.append(
          bar(r, r >= 1 ? 'over' : r >= 0.8 ? 'warn' : ''),
          el('small', {}, fmtPercent(Number.isFinite(r) ? r : null) + ' of ' + fmtUsd(t.budgetUsd)),
        );
      }
      row.append(
        el('td', {}, t.team || '(no team)'),
        el('td', { class: 'num' }, fmtUsd(t.monthUsd)),
        el('td', { class: 'num' }, fmtUsd(t.usd)),
        el('td', { class: 'num' }, fmtNumber(t.cpuSeconds, 2) + ' s'),
        el('td', { class: 'num' }, fmtPercent(t.efficiency)),
        budget,
      );
      return row;
    }),
  );
}

function render(o) {
  const points = o.history.points;
  setTile('depth', o.queue.depth, fmtNumber(o.queue.depth, 0));
  setTile('waiting', o.queue.counts.waiting ?? 0, fmtNumber(o.queue.counts.waiting ?? 0, 0));
  setTile('active', o.queue.counts.active ?? 0, fmtNumber(o.queue.counts.active ?? 0, 0));
  setTile('consumers', o.consumers, fmtNumber(o.consumers, 0));
  setTile('oldest-wait', o.queue.oldestWaitingAgeSeconds, fmtSeconds(o.queue.oldestWaitingAgeSeconds));
  setTile('wait-p50', o.window.waitP50, fmtSeconds(o.window.waitP50));
  setTile('wait-p95', o.window.waitP95, fmtSeconds(o.window.waitP95));
  setTile('failure-rate', o.window.chunkFailureRate, fmtPercent(o.window.chunkFailureRate));
  const depthSeries = [
    { name: 'waiting', color: 'var(--orange)', points: points.map((p) => [p.t, p.waiting]) },
    { name: 'active', color: 'var(--green)', points: points.map((p) => [p.t, p.active]) },
    { name: 'depth', color: 'var(--blue)', points: points.map((p) => [p.t, p.depth]) },
  ];
  lineChart($('chart-depth'), depthSeries, (v) => fmtNumber(v, 0), true);
  legend('legend-depth', depthSeries);
  const waitSeries = [
    { name: 'p50', color: 'var(--blue)', points: points.map((p) => [p.t, p.waitP50]) },
    { name: 'p95', color: 'var(--purple)', points: points.map((p) => [p.t, p.waitP95]) },
  ];
  lineChart($('chart-wait'), waitSeries, fmtSeconds);
  legend('legend-wait', waitSeries);
  const failureSeries = [
    { name: 'chunks failed / attempts', color: 'var(--red)', points: points.map((p) => [p.t, p.chunkFailureRate]) },
    { name: 'record errors / records', color: 'var(--orange)', points: points.map((p) => [p.t, p.recordErrorRate]) },
  ];
  lineChart($('chart-failures'), failureSeries, fmtPercent);
  legend('legend-failures', failureSeries);
  const consumerSeries = [{ name: 'consumers', color: 'var(--green)', points: points.map((p) => [p.t, p.consumers]) }];
  lineChart($('chart-consumers'), consumerSeries, (v) => fmtNumber(v, 0), true);
  legend('legend-consumers', consumerSeries);
  renderBatches(o.batches.active);
  $('batch-counts').textContent = Object.entries(o.batches.counts)
    .map(([k, v]) => k + ' ' + v)
    .join(' · ');
  renderCost(o.cost);
  $('updated').textContent = 'updated ' + fmtTime(Date.parse(o.generatedAt));
  document.body.dataset.generatedAt = o.generatedAt;
}

async function refresh() {
  try {
    const res = await fetch('api/v1/overview', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    render(await res.json());
    $('error').style.display = 'none';
  } catch (err) {
    $('error').textContent = 'Cannot read the exporter: ' + err.message;
    $('error').style.display = 'block';
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}
refresh();
