/* Dashboards: plan vs fact per manager, retention vs target per product, SMS delivery — and
 * the Excel export (managers see the button disabled, with the reason). */
AB.section({id: 'dashboards', title: 'tab.dashboards', build: function (app, $el) {
  var month = AB.thisMonth(app);
  var $scope = AB.ui.select('scope', [{value: 'month', label: app.t('dash.month')},
    {value: 'quarter', label: app.t('dash.quarter')}, {value: 'year', label: app.t('dash.year')}], 'month');
  var $month = AB.ui.input('month', month, {type: 'month'});
  var $charts = AB.h('div', {cls: 'ab-dash'});
  var $export = AB.h('div', {cls: 'ab-export'});
  $el.append(AB.h('div', {cls: 'ab-form ab-form--inline'}, [
    AB.ui.field(app.t('dash.scope'), $scope), AB.ui.field(app.t('dash.period'), $month)]),
  $charts, $export);

  function period() {
    var m = $month.val() || month;
    var year = Number(m.slice(0, 4));
    var mon = Number(m.slice(5, 7));
    if ($scope.val() === 'year') { return String(year); }
    if ($scope.val() === 'quarter') {
      var first = Math.floor((mon - 1) / 3) * 3 + 1;
      function two(n) { return (n < 10 ? '0' : '') + n; }
      return year + '-' + two(first) + '..' + year + '-' + two(first + 2);
    }
    return m;
  }

  function draw() {
    var p = period();
    $charts.empty();
    var $plan = AB.h('div', {cls: 'ab-chart', 'data-chart': 'plan-fact'}, AB.ui.loading(app));
    var $ret = AB.h('div', {cls: 'ab-chart', 'data-chart': 'retention'}, AB.ui.loading(app));
    var $sms = AB.h('div', {cls: 'ab-chart', 'data-chart': 'sms'}, AB.ui.loading(app));
    $charts.append(AB.h('h4', {text: app.t('dash.plan_fact')}), $plan,
      AB.h('h4', {text: app.t('dash.retention')}), $ret, AB.h('h4', {text: app.t('dash.sms')}), $sms);
    app.api.get('/reports/plan-fact', {period: p, lang: app.lang}).then(function (r) {
      planFact($plan, r);
    }, function (e) { $plan.empty().append(AB.ui.notice('error', e.detail)); });
    app.api.get('/reports/retention', {period: p, lang: app.lang}).then(function (r) {
      retention($ret, r);
    }, function (e) { $ret.empty().append(AB.ui.notice('error', e.detail)); });
    app.api.get('/dashboards/sms', {period: p, lang: app.lang}).then(function (r) {
      sms($sms, r);
    }, function (e) { $sms.empty().append(AB.ui.notice('error', e.detail)); });
  }

  function planFact($box, r) {
    var by = {};
    r.rows.forEach(function (row) {
      var key = row.manager_name || app.t('dash.no_manager');
      var item = by[key] || (by[key] = {income: 0, plan: 0, policies: 0});
      item.income += row.income;
      item.plan += row.plan_income || 0;
      item.policies += row.policies;
    });
    var names = Object.keys(by).sort();
    $box.empty();
    if (!names.length) { $box.append(AB.h('p', {cls: 'ab-muted', text: app.t('dash.no_data')})); return; }
    $box.append(AB.chart.bars({
      label: app.t('dash.plan_fact'), categories: names,
      series: [{key: 'fact', label: app.t('dash.fact_income'), color: AB.chart.COLORS.fact,
        values: names.map(function (n) { return by[n].income; })},
      {key: 'plan', label: app.t('dash.plan_income'), color: AB.chart.COLORS.plan,
        values: names.map(function (n) { return by[n].plan; })}],
      note: names.map(function (n) {
        return by[n].plan ? Math.round(100 * by[n].income / by[n].plan) + '%' : '';
      }),
      format: function (v) { return AB.fmt.money(v); },
      axis: function (v) { return Math.round(v / 100000) / 1 + 'k'; }
    }));
    var total = r.total;
    $box.append(AB.h('p', {cls: 'ab-muted', 'data-total': 'plan-fact', text: app.t('dash.plan_total', {
      policies: total.policies, income: AB.fmt.money(total.income),
      plan: total.plan_income ? AB.fmt.money(total.plan_income) : '—',
      pct: total.income_pct ? AB.fmt.pct(total.income_pct) : '—'})}));
  }

  function retention($box, r) {
    $box.empty();
    if (!r.products.length) { $box.append(AB.h('p', {cls: 'ab-muted', text: app.t('dash.no_data')})); return; }
    $box.append(AB.chart.targets({
      label: app.t('dash.retention'), rateLabel: app.t('dash.rate'), targetLabel: app.t('dash.target'),
      rows: r.products.map(function (row) {
        return {label: AB.productName(app, row.product), value: row.rate_pct === null ? null : Number(row.rate_pct),
          target: row.target_pct === null ? null : Number(row.target_pct)};
      })}));
    $box.append(AB.h('p', {cls: 'ab-muted', text: app.t('dash.retention_total', {
      due: r.total.due, renewed: r.total.renewed, lost: r.total.lost, pending: r.total.pending})}));
  }

  function sms($box, r) {
    $box.empty();
    var names = {};
    r.groups.forEach(function (g) { names[g] = app.t('dash.sms.' + g); });
    if (!r.totals.messages) { $box.append(AB.h('p', {cls: 'ab-muted', text: app.t('dash.no_data')})); return; }
    $box.append(AB.chart.stacked({label: app.t('dash.sms'), days: AB.byMonth(r.by_day, r.groups),
      groups: r.groups, names: names}));
    $box.append(AB.h('p', {cls: 'ab-muted', 'data-total': 'sms', text: app.t('dash.sms_total', {
      messages: r.totals.messages, segments: r.totals.segments, cost: AB.fmt.money(r.totals.cost_kopecks),
      rate: r.totals.delivery_rate_pct === null ? '—' : AB.fmt.pct(r.totals.delivery_rate_pct)})}));
  }

  $scope.on('change', draw);
  $month.on('change', draw);
  draw();
  AB.exportBlock(app, $export, period);
}});

/* The Excel export. Managers may never export the base (seed 002): their button is disabled
 * and says why; the bridge refuses them too (and audits the attempt). */
AB.exportBlock = function (app, $box, period) {
  var allowed = app.ctx.export.allowed;
  var $kind = AB.ui.select('kind', ['ledger', 'payroll', 'plan', 'retention'].map(function (k) {
    return {value: k, label: app.t('export.kind.' + k)};
  }), 'ledger');
  var $state = AB.h('div', {cls: 'ab-export__state', 'aria-live': 'polite'});
  var $button = AB.ui.button(app.t('export.button'), run, {primary: true, disabled: !allowed,
    title: allowed ? null : app.ctx.export.reason, data: {action: 'export'}});
  $box.append(AB.h('h4', {text: app.t('export.title')}), AB.h('div', {cls: 'ab-form ab-form--inline'},
    [AB.ui.field(app.t('export.kind'), $kind), $button]),
  allowed ? null : AB.h('p', {cls: 'ab-notice ab-notice--info', 'data-export-reason': 'forbidden',
    text: app.ctx.export.reason}), $state);

  function run() {
    $button.prop('disabled', true);
    $state.empty().append(AB.ui.loading(app));
    app.api.post('/exports', {kind: $kind.val(), period: period(), lang: app.lang}).then(function (rec) {
      poll(rec.id, 0);
    }, fail);
  }
  function poll(id, tries) {
    app.api.get('/exports/' + id, {lang: app.lang}).then(function (rec) {
      if (rec.status === 'done') { ready(rec); return; }
      if (rec.status === 'failed' || tries > 120) { fail({detail: rec.error || app.t('export.failed')}); return; }
      setTimeout(function () { poll(id, tries + 1); }, 500);
    }, fail);
  }
  function ready(rec) {
    $button.prop('disabled', false);
    var $link = AB.h('a', {href: rec.download_url, download: rec.file_name, cls: 'ab-link',
      'data-download': rec.id, text: rec.file_name});
    $state.empty().append(AB.ui.notice('ok', app.t('export.ready', {rows: rec.rows})), $link);
    $link[0].click();
  }
  function fail(p) {
    $button.prop('disabled', !allowed);
    $state.empty().append(AB.ui.notice('error', p.detail));
  }
};

/* A quarter or a year reads better by month than as hundreds of thin daily columns. */
AB.byMonth = function (days, groups) {
  if (days.length <= 62) { return days; }
  var months = [];
  var index = {};
  days.forEach(function (d) {
    var key = d.day.slice(0, 7) + '-01';
    if (index[key] === undefined) {
      index[key] = months.length;
      var empty = {day: key};
      groups.forEach(function (g) { empty[g] = 0; });
      months.push(empty);
    }
    groups.forEach(function (g) { months[index[key]][g] += d[g] || 0; });
  });
  return months;
};
