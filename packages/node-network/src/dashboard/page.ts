/**
 * The dashboard's one page: self-contained (inline CSS and JS, nothing
 * fetched but `snapshot.json` from where the page came from). It polls
 * `snapshot.json` every second and draws the network as SVG: nodes on a
 * circle (label, NAT kind, a ring around relays, grey when down), links
 * coloured by path, a legend, the stats and the newest events. Every
 * string from the snapshot goes in as text (never as markup).
 */
const pathColours: Record<string, string> = {
  direct: '#1f9d55',
  punched: '#2b6cb0',
  relayed: '#dd6b20',
  'http-relay': '#a23fc4',
};
const otherPathColour = '#8a94a6';

/** The page's Content-Security-Policy: inline code, and fetches to its own origin only. */
const pageContentSecurityPolicy =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
  "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const style = `
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #1d2330; background: #f4f5f7; }
header { display: flex; align-items: baseline; gap: 16px; padding: 10px 16px; background: #1d2330; color: #fff; }
header h1 { font-size: 16px; margin: 0; font-weight: 600; }
#status { font-size: 12px; opacity: 0.8; }
#status.error { color: #ffb4a8; opacity: 1; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 360px; gap: 12px; padding: 12px; }
#graph { display: block; width: 100%; height: auto; background: #fff; border: 1px solid #d5d9e0; border-radius: 6px; }
aside section { background: #fff; border: 1px solid #d5d9e0; border-radius: 6px; padding: 8px 10px; margin-bottom: 12px; }
h2 { font-size: 12px; margin: 0 0 6px; text-transform: uppercase; letter-spacing: 0.05em; color: #5a6475; }
#legend { margin: 0; padding: 0; }
#legend li { list-style: none; display: flex; align-items: center; gap: 8px; }
#legend .swatch { display: inline-block; width: 30px; border-top: 4px solid; }
#legend .swatch.dashed { border-top-style: dashed; }
#stats { display: grid; grid-template-columns: auto auto; gap: 0 12px; margin: 0; font-size: 13px; }
#stats dt { color: #5a6475; } #stats dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
#events { margin: 0; padding: 0; max-height: 420px; overflow-y: auto; font-size: 12px; }
#events li { list-style: none; padding: 3px 0; border-bottom: 1px solid #eef0f3; word-break: break-word; }
#events time { color: #5a6475; font-variant-numeric: tabular-nums; margin-right: 6px; }
#events .kind { font-weight: 600; margin-right: 6px; }
#events .level-warn .kind { color: #b7791f; } #events .level-error .kind { color: #c53030; }
svg text { font: 12px system-ui, sans-serif; fill: #1d2330; paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }
svg text.nat { font-size: 11px; fill: #5a6475; }
svg text.badge { font-size: 11px; font-weight: 700; fill: #1d2330; }
`;

/** Runs in the browser: plain ES2017, no imports. `COLOURS` and `OTHER` are set before it. */
const script = `
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var W = 900, H = 640;
  var svg = document.getElementById('graph');
  function el(name, attrs, parent, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text != null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(name, attrs, parent, text) {
    var e = document.createElement(name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text != null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function short(id) { return id.length > 14 ? id.slice(0, 7) + '\\u2026' + id.slice(-4) : id; }
  function clock(t) { try { return new Date(t).toISOString().slice(11, 19); } catch (e) { return '?'; } }
  function layout(nodes) {
    var pos = {};
    var n = nodes.length;
    var r = Math.min(W, H) / 2 - 80;
    nodes.forEach(function (node, i) {
      if (n === 1) { pos[node.id] = { x: W / 2, y: H / 2 }; return; }
      var a = -Math.PI / 2 + (2 * Math.PI * i) / n;
      pos[node.id] = { x: W / 2 + r * Math.cos(a), y: H / 2 + r * Math.sin(a) };
    });
    return pos;
  }
  function render(s) {
    document.getElementById('title').textContent = s.title || ('node-network \\u2014 ' + s.source);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var pos = layout(s.nodes);
    var links = el('g', { 'class': 'links' }, svg);
    var drawn = 0;
    s.links.forEach(function (l) {
      var a = pos[l.a], b = pos[l.b];
      if (!a || !b) return;
      drawn++;
      var line = el('line', {
        'class': 'link', x1: a.x, y1: a.y, x2: b.x, y2: b.y,
        stroke: COLOURS[l.path] || OTHER, 'stroke-width': 6, 'stroke-linecap': 'round',
        'data-path': l.path, 'data-a': l.a, 'data-b': l.b
      }, links);
      if (l.path === 'relayed' || l.path === 'http-relay') line.setAttribute('stroke-dasharray', '16 8');
      el('title', {}, line, l.path + ': ' + l.a + ' \\u2194 ' + l.b + (l.via ? ' via ' + l.via : ''));
    });
    var nodes = el('g', { 'class': 'nodes' }, svg);
    s.nodes.forEach(function (node) {
      var p = pos[node.id];
      var g = el('g', {
        'class': 'node' + (node.up ? '' : ' down') + (node.relay ? ' relay' : ''),
        transform: 'translate(' + p.x.toFixed(1) + ',' + p.y.toFixed(1) + ')',
        'data-id': node.id, 'data-nat': node.nat || '', 'data-up': node.up, 'data-relay': !!node.relay
      }, nodes);
      el('title', {}, g, node.id + (node.addresses && node.addresses.length ? '\\n' + node.addresses.join('\\n') : ''));
      if (node.relay) el('circle', { r: 27, fill: 'none', stroke: '#1d2330', 'stroke-width': 2, 'class': 'relay-ring' }, g);
      el('circle', {
        r: 20, fill: node.up ? '#ffffff' : '#e2e5ea', stroke: node.up ? '#1d2330' : '#9aa3b2',
        'stroke-width': 2, 'stroke-dasharray': node.up ? 'none' : '4 3'
      }, g);
      if (node.relay) el('text', { 'class': 'badge', 'text-anchor': 'middle', y: 4 }, g, 'R');
      el('text', { 'class': 'label', 'text-anchor': 'middle', y: 42 }, g, node.label || short(node.id));
      if (node.nat) el('text', { 'class': 'nat', 'text-anchor': 'middle', y: 56 }, g, 'NAT: ' + node.nat);
    });
    var stats = document.getElementById('stats');
    stats.textContent = '';
    var st = s.stats || {};
    var rows = [['nodes', s.nodes.length], ['up', s.nodes.filter(function (n) { return n.up; }).length], ['links', drawn]];
    Object.keys(st).forEach(function (k) { rows.push([k, st[k]]); });
    rows.forEach(function (r) { html('dt', {}, stats, r[0]); html('dd', {}, stats, String(r[1])); });
    var list = document.getElementById('events');
    list.textContent = '';
    s.events.slice().sort(function (a, b) { return b.time - a.time; }).slice(0, 200).forEach(function (e) {
      var li = html('li', { 'class': 'event level-' + (e.level || 'info'), 'data-kind': e.kind }, list);
      html('time', {}, li, clock(e.time));
      html('span', { 'class': 'kind' }, li, e.kind);
      html('span', { 'class': 'text' }, li, e.text);
    });
    var status = document.getElementById('status');
    status.className = 'ok';
    status.setAttribute('data-time', String(s.time));
    status.textContent = 'live \\u00b7 snapshot of ' + clock(s.time) + ' UTC \\u00b7 ' + s.nodes.length + ' nodes, ' + drawn + ' links';
  }
  function tick() {
    fetch('snapshot.json', { cache: 'no-store' }).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error('HTTP ' + r.status + ' ' + t.slice(0, 200)); });
      return r.json();
    }).then(render).catch(function (e) {
      var status = document.getElementById('status');
      status.className = 'error';
      status.textContent = 'cannot show the snapshot: ' + e.message;
    }).then(function () { setTimeout(tick, 1000); });
  }
  tick();
})();
`;

function legend(): string {
  return Object.entries(pathColours)
    .map(
      ([path, colour]) =>
        `<li data-path="${path}"><span class="swatch${path.includes('relay') ? ' dashed' : ''}" style="border-top-color:${colour}"></span>${path}</li>`,
    )
    .join('');
}

/** The page's HTML. */
function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>node-network dashboard</title>
<style>${style}</style>
</head>
<body>
<header><h1 id="title">node-network</h1><span id="status">loading…</span></header>
<main>
<svg id="graph" viewBox="0 0 900 640" width="900" height="640" role="img" aria-label="network graph"></svg>
<aside>
<section><h2>Paths</h2><ul id="legend">${legend()}</ul>
<p style="margin:6px 0 0;font-size:12px;color:#5a6475">a ring and R: relays · grey, dashed: down</p></section>
<section><h2>Stats</h2><dl id="stats"></dl></section>
<section><h2>Events</h2><ol id="events"></ol></section>
</aside>
</main>
<script>var COLOURS = ${JSON.stringify(pathColours)}; var OTHER = ${JSON.stringify(otherPathColour)};${script}</script>
</body>
</html>
`;
}

export { dashboardPage, pathColours, otherPathColour, pageContentSecurityPolicy };
