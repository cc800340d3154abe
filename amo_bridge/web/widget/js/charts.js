/* Charts drawn as inline SVG: no library to load inside amoCRM, crisp at any zoom. Every chart
 * also carries a <title> per mark, so hovering shows the exact figure. */
AB.chart = (function () {
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = {fact: '#2e7d32', plan: '#b0bec5', rate: '#1565c0', target: '#c62828',
    delivered: '#2e7d32', sent: '#66bb6a', waiting: '#ffb300', failed: '#c62828',
    rejected: '#8d6e63', attention: '#ef6c00'};

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function titled(node, text) {
    var title = el('title', {}, node);
    title.textContent = text;
    return node;
  }

  function text(parent, x, y, content, attrs) {
    var node = el('text', $.extend({x: x, y: y, 'font-size': 11, fill: '#37474f'}, attrs || {}),
      parent);
    node.textContent = content;
    return node;
  }

  function svg(width, height, label) {
    // Drawn at its natural size (fonts stay 11px); CSS only shrinks it on narrow panels.
    var root = el('svg', {viewBox: '0 0 ' + width + ' ' + height, width: width, height: height,
      role: 'img', 'aria-label': label, preserveAspectRatio: 'xMinYMin meet'});
    titled(root, label);
    return root;
  }

  function legendWidth(labels) {
    return labels.reduce(function (sum, label) { return sum + 24 + label.length * 6.5; }, 16);
  }

  function legend(parent, items, y) {
    var x = 8;
    items.forEach(function (item) {
      el('rect', {x: x, y: y - 9, width: 10, height: 10, fill: item.color}, parent);
      text(parent, x + 14, y, item.label);
      x += 24 + item.label.length * 6.5;
    });
  }

  /* Grouped vertical bars: one group per category, one bar per series. */
  function bars(opts) {
    var cats = opts.categories;
    var series = opts.series;
    var width = Math.max(320, 60 + cats.length * (series.length * 22 + 28),
      legendWidth(series.map(function (x) { return x.label; })));
    var height = 230;
    var top = 28;
    var bottom = 52;
    var left = 56;
    var root = svg(width, height, opts.label);
    var max = 0;
    series.forEach(function (s) { s.values.forEach(function (v) { max = Math.max(max, v || 0); }); });
    max = max || 1;
    var plot = height - top - bottom;
    legend(root, series.map(function (s) { return {label: s.label, color: s.color}; }), 14);
    [0, 0.5, 1].forEach(function (f) {
      var y = top + plot - plot * f;
      el('line', {x1: left, x2: width - 8, y1: y, y2: y, stroke: '#eceff1'}, root);
      text(root, 4, y + 4, opts.axis(max * f), {'font-size': 10, fill: '#78909c'});
    });
    cats.forEach(function (cat, i) {
      var x0 = left + 12 + i * (series.length * 22 + 28);
      series.forEach(function (s, j) {
        var v = s.values[i] || 0;
        var h = Math.max(v ? 1 : 0, plot * v / max);
        titled(el('rect', {x: x0 + j * 22, y: top + plot - h, width: 18, height: h,
          fill: s.color, 'class': 'ab-bar', 'data-series': s.key, 'data-category': cat}, root),
          cat + ' — ' + s.label + ': ' + opts.format(v));
      });
      text(root, x0, height - bottom + 16, cat.length > 16 ? cat.slice(0, 15) + '…' : cat,
        {'font-size': 10});
      if (opts.note && opts.note[i]) {
        text(root, x0, height - bottom + 30, opts.note[i], {'font-size': 10, fill: '#546e7a'});
      }
    });
    return root;
  }

  /* Horizontal bars with a target marker: retention per product. */
  function targets(opts) {
    var rows = opts.rows;
    var width = 520;
    var rowH = 26;
    var left = 130;
    var height = 34 + rows.length * rowH + 10;
    var root = svg(width, height, opts.label);
    legend(root, [{label: opts.rateLabel, color: COLORS.rate},
      {label: opts.targetLabel, color: COLORS.target}], 14);
    var span = width - left - 60;
    rows.forEach(function (row, i) {
      var y = 30 + i * rowH;
      text(root, 4, y + 13, row.label);
      el('rect', {x: left, y: y, width: span, height: 16, fill: '#eceff1'}, root);
      if (row.value !== null) {
        titled(el('rect', {x: left, y: y, width: span * Math.min(row.value, 100) / 100, height: 16,
          fill: row.value >= (row.target || 0) ? COLORS.rate : '#90caf9', 'class': 'ab-bar',
          'data-category': row.label}, root), row.label + ': ' + row.value + '%');
      }
      if (row.target !== null) {
        var tx = left + span * row.target / 100;
        titled(el('line', {x1: tx, x2: tx, y1: y - 3, y2: y + 19, stroke: COLORS.target,
          'stroke-width': 2}, root), opts.targetLabel + ': ' + row.target + '%');
      }
      text(root, left + span + 6, y + 13, row.value === null ? '—' : row.value + '%');
    });
    return root;
  }

  /* Stacked columns per day: SMS by delivery state. */
  function stacked(opts) {
    var days = opts.days;
    var groups = opts.groups;
    var colW = Math.max(6, Math.min(18, Math.floor(480 / Math.max(1, days.length))));
    var width = Math.max(320, 50 + days.length * (colW + 2),
      legendWidth(groups.map(function (g) { return opts.names[g]; })));
    var height = 200;
    var top = 28;
    var bottom = 30;
    var left = 36;
    var root = svg(width, height, opts.label);
    legend(root, groups.map(function (g) { return {label: opts.names[g], color: COLORS[g]}; }), 14);
    var max = 1;
    days.forEach(function (d) {
      var sum = 0;
      groups.forEach(function (g) { sum += d[g] || 0; });
      max = Math.max(max, sum);
    });
    var plot = height - top - bottom;
    text(root, 4, top + 8, String(max), {'font-size': 10, fill: '#78909c'});
    days.forEach(function (d, i) {
      var x = left + i * (colW + 2);
      var y = top + plot;
      groups.forEach(function (g) {
        var v = d[g] || 0;
        if (!v) { return; }
        var h = plot * v / max;
        y -= h;
        titled(el('rect', {x: x, y: y, width: colW, height: h, fill: COLORS[g], 'class': 'ab-bar',
          'data-series': g}, root), AB.fmt.date(d.day) + ' — ' + opts.names[g] + ': ' + v);
      });
      if (i % Math.ceil(days.length / 8) === 0) {
        text(root, x, height - bottom + 14, AB.fmt.date(d.day).slice(0, 5), {'font-size': 9});
      }
    });
    return root;
  }

  return {bars: bars, targets: targets, stacked: stacked, COLORS: COLORS};
}());
