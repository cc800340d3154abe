/* SMS settings (seed 002, part 3; seed 004): templates with a live preview and the segment
 * counter, the reminder schedule before a policy ends, the gateway, and each manager's profile
 * (the name and phone a client sees in the text). */
AB.section({id: 'templates', title: 'tab.templates', roles: ['admin'], help: 'templates.help',
  build: function (app, $el) {
    var $list = AB.h('div', {cls: 'ab-templates'});
    var $editor = AB.h('div', {cls: 'ab-editor'});
    $el.append($list, $editor);
    function load(selected) {
      app.api.get('/sms/templates', {lang: app.lang}).then(function (r) {
        $list.empty().append(AB.ui.table([app.t('templates.name'), app.t('templates.kind'), app.t('templates.state'), ''],
          r.templates.map(function (t) {
            return AB.ui.row([t.name || t.code, app.t('templates.kind.' + t.kind),
              (t.is_default ? app.t('templates.default') : app.t('templates.changed')) +
              (t.is_active ? '' : ' · ' + app.t('templates.off')),
              AB.ui.button(app.t('common.edit'), function () { edit(t, r.variables); }, {small: true,
                data: {action: 'edit-template'}})], {data: {template: t.code}});
          })));
        var current = r.templates.filter(function (t) { return t.code === selected; })[0];
        if (current) { edit(current, r.variables); }
      }, function (p) { $list.empty().append(AB.ui.notice('error', p.detail)); });
    }
    function edit(t, variables) {
      var $body = AB.h('textarea', {name: 'body', cls: 'ab-input ab-input--code', rows: 5, value: t.body});
      var $preview = AB.h('div', {cls: 'ab-preview', 'aria-live': 'polite'});
      var $form = AB.h('form', {cls: 'ab-form', 'data-form': 'template', 'data-template': t.code}, [
        AB.h('h4', {text: t.name || t.code}),
        AB.ui.field(app.t('templates.name'), AB.ui.input('name', t.name || '')),
        AB.ui.field(app.t('templates.kind'), AB.ui.select('kind', [{value: 'service', label: app.t('templates.kind.service')},
          {value: 'marketing', label: app.t('templates.kind.marketing')}], t.kind)),
        AB.ui.checkbox('is_active', t.is_active, app.t('templates.active')),
        AB.ui.field(app.t('templates.body'), $body),
        AB.h('div', {cls: 'ab-vars'}, Object.keys(variables || {}).map(function (name) {
          return AB.h('button', {type: 'button', cls: 'ab-var', text: '{{ ' + name + ' }}', title: variables[name],
            on: {click: function () { insert($body[0], '{{ ' + name + ' }}'); $body.trigger('input'); }}});
        })),
        $preview,
        AB.h('div', {cls: 'ab-form__actions'}, [AB.submit(app, 'common.save', 'save-template'),
          t.is_default ? null : AB.ui.button(app.t('templates.reset'), function () {
            app.api.del('/sms/templates/' + t.code).then(function () { load(t.code); });
          }, {data: {action: 'reset-template'}})])]);
      var preview = AB.debounce(function () {
        app.api.post('/sms/templates/preview', {body: $body.val() || ' '}).then(function (s) {
          AB.ui.clearProblem($form);
          $preview.empty().append(AB.h('div', {cls: 'ab-sms__text', text: s.text}),
            AB.h('div', {cls: 'ab-muted', 'data-segments': s.segments,
              text: app.t('sms.segment_count', {n: s.segments, encoding: s.encoding}) + ' · ' +
              app.t('templates.units', {units: s.units, per: s.per_part})}),
            s.warning ? AB.ui.notice('warn', s.warning) : null);
        }, function (p) { $preview.empty().append(AB.ui.notice('error', p.detail)); });
      }, 250);
      $body.on('input', preview);
      $form.on('submit', function (e) {
        e.preventDefault();
        var v = AB.formValues($form);
        app.api.put('/sms/templates/' + t.code, {body: v.body, name: v.name, kind: v.kind,
          is_active: v.is_active}).then(function () { AB.saved(app, $form); load(null); },
        function (p) { AB.ui.showProblem($form, p); });
      });
      $editor.empty().append($form);
      preview();
    }
    function insert(area, text) {
      var start = area.selectionStart || area.value.length;
      area.value = area.value.slice(0, start) + text + area.value.slice(area.selectionEnd || start);
    }
    load(null);
  }});

/* Reminders before a policy ends (seed 004: 45/30/5 days by product). */
AB.section({id: 'reminders', title: 'tab.reminders', roles: ['admin'], help: 'reminders.help',
  build: function (app, $el) {
    var $form = AB.h('form', {cls: 'ab-form ab-form--grid', 'data-form': 'reminders'});
    $el.append($form);
    app.api.get('/sms/settings').then(function (s) {
      var days = (s.reminders && s.reminders.days_before) || {};
      (app.ctx.products || []).forEach(function (p) {
        $form.append(AB.ui.field(p.name, AB.ui.input('days_' + p.code, (days[p.code] || []).join(', '),
          {placeholder: app.t('reminders.none')})));
      });
      $form.append(AB.ui.checkbox('foreign_policies', s.reminders && s.reminders.foreign_policies,
        app.t('reminders.foreign')), AB.submit(app, 'common.save', 'save-reminders'));
    }, function (p) {
      $form.append(AB.ui.notice(p.status === 404 ? 'info' : 'error',
        p.status === 404 ? app.t('common.unavailable') : p.detail));
    });
    $form.on('submit', function (e) {
      e.preventDefault();
      var v = AB.formValues($form);
      var days = {};
      var bad = {};
      (app.ctx.products || []).forEach(function (p) {
        var text = v['days_' + p.code] || '';
        if (!text) { return; }
        var list = text.split(/[\s,;]+/).filter(Boolean).map(Number);
        if (list.some(function (n) { return !(n >= 0 && n <= 365 && Math.floor(n) === n); })) {
          bad['days_' + p.code] = [app.t('reminders.bad')];
        }
        days[p.code] = list;
      });
      if (Object.keys(bad).length) { AB.ui.showProblem($form, {detail: app.t('error.form'), errors: bad}); return; }
      app.api.put('/sms/settings', {reminders: {days_before: days, foreign_policies: v.foreign_policies}})
        .then(function () { AB.saved(app, $form); }, function (p) { AB.ui.showProblem($form, p); });
    });
  }});

AB.section({id: 'gateway', title: 'tab.gateway', roles: ['admin'], help: 'gateway.help', build: function (app, $el) {
  var $gateway = AB.h('div', {cls: 'ab-gateway'});
  var $channels = AB.h('div', {cls: 'ab-channels'});
  var $attention = AB.h('div', {cls: 'ab-attention'});
  $el.append($gateway, AB.h('h4', {text: app.t('gateway.channels')}), $channels,
    AB.h('h4', {text: app.t('gateway.attention')}), $attention);
  app.api.get('/sms/gateway').then(function (g) {
    $gateway.append(AB.ui.table([app.t('gateway.name'), app.t('gateway.state'), app.t('gateway.balance')],
      [g.primary].concat(g.fallback ? [g.fallback] : []).map(function (x) {
        return AB.ui.row([x.name, x.status || '—', x.balance_kopecks === null || x.balance_kopecks === undefined
          ? '—' : AB.fmt.money(x.balance_kopecks)], {data: {gateway: x.name}});
      })));
  }, function (p) {
    $gateway.append(AB.ui.notice(p.status === 404 ? 'info' : 'error',
      p.status === 404 ? app.t('common.unavailable') : p.detail));
  });
  function load() {
    app.api.get('/sms/attention').then(function (r) {
      $channels.empty().append(r.channels.length ? AB.ui.table([app.t('gateway.name'), app.t('gateway.state'),
        app.t('gateway.reason'), ''], r.channels.map(function (c) {
        return AB.ui.row([c.gateway, c.status, c.reason || '—', c.status === 'paused' ? AB.ui.button(app.t('gateway.resume'),
          function () { app.api.post('/sms/channels/' + c.gateway + '/resume').then(load); }, {small: true}) : '']);
      })) : AB.h('p', {cls: 'ab-muted', text: app.t('gateway.channels_ok')}));
      $attention.empty().append(r.messages.length ? AB.ui.table([app.t('common.when'), app.t('sms.phone'),
        app.t('gateway.reason'), ''], r.messages.map(function (m) {
        return AB.ui.row([AB.fmt.dateTime(m.created_at), m.phone || '—', m.reason || m.status, AB.h('span', {}, [
          AB.ui.button(app.t('gateway.requeue'), function () { app.api.post('/sms/messages/' + m.id + '/requeue').then(load); },
            {small: true}), ' ',
          AB.ui.button(app.t('gateway.dismiss'), function () { app.api.post('/sms/messages/' + m.id + '/dismiss').then(load); },
            {small: true})])], {data: {sms: m.id}});
      })) : AB.h('p', {cls: 'ab-muted', text: app.t('gateway.attention_none')}));
    }, function (p) { $channels.empty().append(AB.ui.notice('error', p.detail)); });
  }
  load();
}});

/* Everyone's own: the name and phone clients see in SMS (amoCRM's API has no user phone). */
AB.section({id: 'profile', title: 'tab.profile', help: 'profile.help', build: function (app, $el) {
  var profile = app.ctx.user.profile || {};
  var $form = AB.h('form', {cls: 'ab-form ab-form--grid', 'data-form': 'profile'}, [
    AB.ui.field(app.t('profile.name'), AB.ui.input('name', profile.name || app.ctx.user.name)),
    AB.ui.field(app.t('profile.phone'), AB.ui.input('phone', profile.phone || '', {type: 'tel',
      placeholder: '+7 900 000-00-00'})),
    AB.submit(app, 'common.save', 'save-profile')]);
  $form.on('submit', function (e) {
    e.preventDefault();
    var v = AB.formValues($form);
    app.api.put('/sms/profile', {name: v.name, phone: v.phone}).then(function (r) {
      AB.saved(app, $form);
      if (r.requeued && r.requeued.length) {
        $form.append(AB.ui.notice('info', app.t('profile.requeued', {n: r.requeued.length})));
      }
    }, function (p) { AB.ui.showProblem($form, p); });
  });
  $el.append($form);
}});
