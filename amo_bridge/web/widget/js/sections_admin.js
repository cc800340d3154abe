/* Admin sections: which amoCRM fields fill the ledger (and how seller and issuer are found),
 * the stages that cancel policies, the inbox of rejected webhooks, the export audit, imports. */
AB.LEDGER_FIELDS = ['product', 'insurer', 'number', 'starts_on', 'ends_on', 'premium', 'commission_pct',
  'sum_insured', 'deductible', 'make', 'model', 'year', 'plate', 'vin'];

AB.lines = function (text) {
  return String(text || '').split('\n').map(function (s) { return $.trim(s); }).filter(Boolean);
};

AB.section({id: 'fields', title: 'tab.fields', roles: ['admin'], help: 'fields.help', build: function (app, $el) {
  var $form = AB.h('form', {cls: 'ab-form ab-form--grid', 'data-form': 'field-mapping'});
  var $cancel = AB.h('form', {cls: 'ab-form ab-form--grid', 'data-form': 'cancellation'});
  var $amo = AB.h('datalist', {id: 'ab-amo-fields'});
  var $stages = AB.h('datalist', {id: 'ab-amo-stages'});
  $el.append($amo, $stages, $form, AB.h('h4', {text: app.t('fields.cancellation')}), $cancel);
  var pipelines = [];
  var $chips = AB.h('div', {cls: 'ab-vars', 'data-amo-fields': 'chips'});
  var $target = null;
  $form.on('focus', 'textarea', function () { $target = $(this); });
  var amoLoaded = app.api.get('/amocrm/lead-fields').then(function (r) {
    r.fields.forEach(function (f) { $amo.append(AB.h('option', {value: f.name})); });
    // Click a field of amoCRM to add it to the ledger field being edited.
    $chips.append(AB.h('span', {cls: 'ab-muted', text: app.t('fields.amocrm') + ' '}),
      r.fields.map(function (f) {
        return AB.h('button', {type: 'button', cls: 'ab-var', text: f.name, title: f.type,
          on: {click: function () {
            if (!$target) { return; }
            var lines = AB.lines($target.val());
            if (lines.indexOf(f.name) < 0) { lines.push(f.name); }
            $target.val(lines.join('\n')).trigger('focus');
          }}});
      }));
    pipelines = r.pipelines;
    r.pipelines.forEach(function (p) {
      p.statuses.forEach(function (s) { $stages.append(AB.h('option', {value: s.name, label: p.name})); });
    });
  }, function (p) { $el.prepend(AB.ui.notice('warn', p.detail)); });

  function rule(role, value) {
    value = value || {rule: 'responsible_at_win'};
    return AB.h('fieldset', {cls: 'ab-fieldset', 'data-role': role}, [
      AB.h('legend', {text: app.t('fields.' + role)}),
      AB.ui.field(app.t('fields.rule'), AB.ui.select(role + '_rule', ['responsible_at_win', 'responsible_at_stage', 'field']
        .map(function (r) { return {value: r, label: app.t('fields.rule.' + r)}; }), value.rule)),
      AB.ui.field(app.t('fields.statuses'), AB.h('textarea', {name: role + '_statuses', cls: 'ab-input', rows: 2,
        value: (value.statuses || []).join('\n')}), app.t('fields.one_per_line')),
      AB.ui.field(app.t('fields.user_field'), AB.ui.input(role + '_field', value.field || '', {list: 'ab-amo-fields'}))]);
  }

  app.api.get('/settings/field-mapping').then(function (r) {
    var mapping = r.value;
    AB.LEDGER_FIELDS.forEach(function (key) {
      $form.append(AB.ui.field(app.t('fields.ledger.' + key), AB.h('textarea', {name: 'f_' + key, cls: 'ab-input',
        rows: 2, value: (mapping.policy[key] || []).join('\n'), 'aria-describedby': 'ab-fields-hint'})));
    });
    $form.append(AB.h('p', {id: 'ab-fields-hint', cls: 'ab-muted', text: app.t('fields.hint')}), $chips,
      rule('seller', mapping.seller), rule('issuer', mapping.issuer), AB.submit(app, 'common.save', 'save-fields'));
    if (r.updated_at) {
      $form.append(AB.h('p', {cls: 'ab-muted', text: app.t('common.changed_by', {
        when: AB.fmt.dateTime(r.updated_at), who: AB.userName(app, r.updated_by)})}));
    }
  }, function (p) { $form.append(AB.ui.notice('error', p.detail)); });

  $form.on('submit', function (e) {
    e.preventDefault();
    var v = AB.formValues($form);
    var policy = {};
    AB.LEDGER_FIELDS.forEach(function (key) { policy[key] = AB.lines(v['f_' + key]); });
    function readRule(role) {
      var out = {rule: v[role + '_rule'], statuses: AB.lines(v[role + '_statuses']),
        field: v[role + '_field'] || null};
      return out;
    }
    app.api.put('/settings/field-mapping', {policy: policy, seller: readRule('seller'), issuer: readRule('issuer')})
      .then(function () { AB.saved(app, $form); }, function (p) { AB.ui.showProblem($form, p); });
  });

  $.when(app.api.get('/settings/cancellation'), amoLoaded).then(function (r) {
    var value = r.value;
    var $ids = AB.h('div', {cls: 'ab-pool', 'data-field': 'status_ids'});
    var seen = {};
    pipelines.forEach(function (p) {
      p.statuses.forEach(function (s) {
        if (seen[s.id] || s.id === 142) { return; }
        seen[s.id] = true;
        $ids.append(AB.ui.checkbox('status_' + s.id, value.status_ids.indexOf(s.id) >= 0,
          p.name + ' → ' + s.name, {'data-status': s.id}));
      });
    });
    value.status_ids.forEach(function (id) {
      if (!seen[id]) { $ids.append(AB.ui.checkbox('status_' + id, true, '#' + id, {'data-status': id})); }
    });
    $cancel.append(AB.h('div', {cls: 'ab-field'}, [AB.h('span', {cls: 'ab-field__label', text: app.t('fields.cancel_stages')}), $ids]),
      AB.ui.field(app.t('fields.cancel_date'), AB.h('textarea', {name: 'date_field', cls: 'ab-input', rows: 2,
        value: (value.date_field || []).join('\n')})),
      AB.ui.field(app.t('fields.cancel_refund'), AB.h('textarea', {name: 'refund_field', cls: 'ab-input', rows: 2,
        value: (value.refund_field || []).join('\n')})),
      AB.ui.field(app.t('fields.refund_default'), AB.ui.select('refund_default', [
        {value: 'none', label: app.t('fields.refund.none')}, {value: 'full', label: app.t('fields.refund.full')}],
      value.refund_default)),
      AB.submit(app, 'common.save', 'save-cancellation'));
  }, function (p) { $cancel.append(AB.ui.notice('error', p.detail)); });

  $cancel.on('submit', function (e) {
    e.preventDefault();
    var v = AB.formValues($cancel);
    var ids = Object.keys(v).filter(function (k) { return k.indexOf('status_') === 0 && v[k]; })
      .map(function (k) { return Number(k.slice(7)); });
    app.api.put('/settings/cancellation', {status_ids: ids, date_field: AB.lines(v.date_field),
      refund_field: AB.lines(v.refund_field), refund_default: v.refund_default})
      .then(function () { AB.saved(app, $cancel); }, function (p) { AB.ui.showProblem($cancel, p); });
  });
}});

AB.section({id: 'inbox', title: 'tab.inbox', roles: ['admin'], help: 'inbox.help', build: function (app, $el) {
  var $status = AB.ui.select('status', ['rejected', 'failed', 'pending', 'done', 'duplicate'].map(function (s) {
    return {value: s, label: app.t('inbox.status.' + s)};
  }), 'rejected');
  var $list = AB.h('div', {cls: 'ab-inbox'});
  $el.append(AB.h('div', {cls: 'ab-form ab-form--inline'}, AB.ui.field(app.t('inbox.show'), $status)), $list);
  function load() {
    $list.empty().append(AB.ui.loading(app));
    app.api.get('/inbox', {status: $status.val()}).then(function (r) {
      $list.empty().append(AB.h('p', {cls: 'ab-muted', text: ['rejected', 'pending', 'done'].map(function (s) {
        return app.t('inbox.status.' + s) + ': ' + r.counts[s];
      }).join(' · ')}));
      if (!r.events.length) { $list.append(AB.h('p', {cls: 'ab-muted', text: app.t('inbox.empty')})); return; }
      $list.append(AB.ui.table([app.t('common.when'), app.t('inbox.source'), app.t('gateway.reason'),
        app.t('inbox.attempts'), app.t('inbox.body'), ''], r.events.map(function (ev) {
        var retry = ev.status === 'rejected' || ev.status === 'failed';
        return AB.ui.row([AB.fmt.dateTime(ev.received_at), ev.source, ev.reason || '—', String(ev.attempts),
          AB.h('code', {cls: 'ab-code', text: ev.body_preview.slice(0, 160)}),
          retry ? AB.ui.button(app.t('inbox.retry'), function () {
            app.api.post('/inbox/' + ev.id + '/retry').then(function () { setTimeout(load, 800); },
              function (p) { $list.prepend(AB.ui.notice('error', p.detail)); });
          }, {small: true, data: {action: 'retry'}}) : ''], {data: {event: ev.id, attempts: ev.attempts}});
      })));
    }, function (p) { $list.empty().append(AB.ui.notice('error', p.detail)); });
  }
  $status.on('change', load);
  load();
}});

AB.section({id: 'audit', title: 'tab.audit', roles: ['admin'], help: 'audit.help', build: function (app, $el) {
  var $list = AB.h('div', {cls: 'ab-audit'});
  var $export = AB.h('div');
  $el.append($list, $export);
  function load() {
    app.api.get('/exports', {limit: 100}).then(function (r) {
      $list.empty();
      if (!r.exports.length) { $list.append(AB.h('p', {cls: 'ab-muted', text: app.t('common.empty')})); return; }
      $list.append(AB.ui.table([app.t('common.when'), app.t('common.user'), app.t('export.kind'), app.t('audit.period'),
        app.t('audit.status'), app.t('audit.rows'), app.t('audit.downloads')], r.exports.map(function (x) {
        var f = x.filters || {};
        return AB.ui.row([AB.fmt.dateTime(x.requested_at), AB.userName(app, x.actor) + ' (' + x.channel + ')',
          app.t('export.kind.' + x.kind), AB.fmt.date(f.from) + ' — ' + AB.fmt.date(f.to),
          app.t('audit.status.' + x.status), x.rows === null ? '—' : String(x.rows), String(x.downloads)],
        {data: {export: x.id, status: x.status}});
      })));
    }, function (p) { $list.empty().append(AB.ui.notice('error', p.detail)); });
  }
  load();
  AB.exportBlock(app, $export, function () { return AB.thisMonth(app); });
  $export.on('click', '[data-action="export"]', function () { setTimeout(load, 1500); });
}});

AB.section({id: 'imports', title: 'tab.imports', roles: ['admin'], help: 'imports.help', build: function (app, $el) {
  var $list = AB.h('div', {cls: 'ab-imports'});
  var $form = AB.h('form', {cls: 'ab-form ab-form--grid', 'data-form': 'import'}, [
    AB.ui.field(app.t('imports.file'), AB.h('input', {type: 'file', name: 'file', cls: 'ab-input',
      accept: '.xlsx,.csv'})),
    AB.ui.field(app.t('imports.kind'), AB.ui.select('kind', [{value: 'ours', label: app.t('renewals.kind.ours')},
      {value: 'foreign', label: app.t('renewals.kind.foreign')}], 'ours')),
    AB.ui.checkbox('dry_run', true, app.t('imports.dry_run')),
    AB.submit(app, 'imports.upload', 'upload')]);
  $el.append($form, AB.h('h4', {text: app.t('imports.recent')}), $list);
  $form.on('submit', function (e) {
    e.preventDefault();
    var file = $form.find('input[type="file"]')[0].files[0];
    if (!file) { AB.ui.showProblem($form, {detail: app.t('imports.choose')}); return; }
    var data = new FormData();
    data.append('file', file);
    data.append('kind', $form.find('[name="kind"]').val());
    data.append('dry_run', $form.find('[name="dry_run"]').prop('checked') ? 'true' : 'false');
    app.api.post('/imports', data).then(function () { AB.saved(app, $form); setTimeout(load, 500); },
      function (p) { AB.ui.showProblem($form, p); });
  });
  function load() {
    app.api.get('/imports', {limit: 20}).then(function (r) {
      var runs = r.items || [];
      $list.empty();
      if (!runs.length) { $list.append(AB.h('p', {cls: 'ab-muted', text: app.t('common.empty')})); return; }
      $list.append(AB.ui.table([app.t('common.when'), app.t('imports.file'), app.t('audit.status'),
        app.t('imports.result'), ''], runs.map(function (run) {
        var counts = run.summary || {};
        var result = run.error || Object.keys(counts).map(function (k) {
          return k + ': ' + (typeof counts[k] === 'object' ? JSON.stringify(counts[k]) : counts[k]);
        }).join(', ');
        return AB.ui.row([AB.fmt.dateTime(run.created_at), run.filename || '—',
          run.status_text + (run.dry_run ? ' · ' + app.t('imports.dry_run_short') : ''), result || '—',
          run.links && run.links.rejected_csv ? AB.ui.button(app.t('imports.rejected'), function () {
            app.api.call('GET', '/imports/' + run.id + '/rejected.csv', null, {dataType: 'text'}).then(function (text) {
              AB.ui.saveText('rejected-' + run.id + '.csv', text, 'text/csv');
            });
          }, {small: true}) : ''], {data: {run: run.id}});
      })));
    }, function (p) { $list.empty().append(AB.ui.notice('error', p.detail)); });
  }
  load();
}});
