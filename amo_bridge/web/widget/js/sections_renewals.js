/* Renewals (seed 002, part 2): when the renewal deal and task appear, and who gets them —
 * separately for our policies and foreign ones — with the "who gets the next N" preview. */
AB.RENEWAL_BASE = ['days_before', 'pipeline', 'status', 'tag', 'task_due_days_after_creation',
  'late_days', 'foreign_tag', 'deal_name', 'task_text'];
AB.RENEWAL_NUMBERS = ['days_before', 'task_due_days_after_creation', 'late_days'];

AB.section({id: 'renewals', title: 'tab.renewals', roles: ['admin'], help: 'renewals.help',
  build: function (app, $el) {
    var $form = AB.h('form', {cls: 'ab-form ab-form--grid', 'data-form': 'renewal-settings'});
    var $overrides = AB.h('div', {cls: 'ab-overrides'});
    $el.append($form, AB.h('h4', {text: app.t('renewals.overrides')}), $overrides);
    var settings = null;
    app.api.get('/renewals/settings').then(function (s) {
      settings = s;
      AB.RENEWAL_BASE.forEach(function (key) {
        var long = key === 'deal_name' || key === 'task_text';
        var $input = long ? AB.h('textarea', {name: key, cls: 'ab-input', rows: 2, value: s[key] || ''})
          : AB.ui.input(key, s[key] === undefined ? '' : s[key],
            AB.RENEWAL_NUMBERS.indexOf(key) >= 0 ? {type: 'number', min: 0} : {});
        $form.append(AB.ui.field(app.t('renewals.' + key), $input));
      });
      $form.append(AB.ui.checkbox('followups', s.followups !== false, app.t('renewals.followups')),
        AB.submit(app, 'common.save', 'save-renewals'));
      drawOverrides(s.schedules || []);
    }, function (p) { $form.append(AB.ui.notice('error', p.detail)); });
    $form.on('submit', function (e) {
      e.preventDefault();
      var v = AB.formValues($form);
      var body = {followups: v.followups};
      AB.RENEWAL_BASE.forEach(function (key) {
        if (AB.RENEWAL_NUMBERS.indexOf(key) >= 0) { body[key] = Number(v[key]); } else { body[key] = v[key]; }
      });
      body.schedules = readOverrides();
      app.api.put('/renewals/settings', body).then(function (s) {
        settings = s;
        AB.saved(app, $form);
        drawOverrides(s.schedules || []);
      }, function (p) { AB.ui.showProblem($form, p); });
    });

    function drawOverrides(items) {
      $overrides.empty();
      var $rows = AB.h('tbody');
      items.forEach(function (item) { $rows.append(overrideRow(item)); });
      $overrides.append(AB.h('table', {cls: 'ab-table'}, [AB.h('thead', {}, AB.h('tr', {}, [
        'renewals.kind', 'deal.product', 'renewals.enabled', 'renewals.days_before', ''].map(function (h) {
        return AB.h('th', {text: h ? app.t(h) : ''});
      }))), $rows]), AB.ui.button(app.t('renewals.add_override'), function () {
        $rows.append(overrideRow({kind: '*', product: '*', enabled: true, days_before: settings.days_before}));
      }, {small: true}), AB.h('p', {cls: 'ab-muted', text: app.t('renewals.overrides_hint')}));
    }
    function overrideRow(item) {
      var $tr = AB.h('tr', {cls: 'ab-override'});
      $tr.data('item', item);
      $tr.append(AB.h('td', {}, AB.ui.select('o_kind', [{value: '*', label: app.t('renewals.kind.any')},
        {value: 'ours', label: app.t('renewals.kind.ours')}, {value: 'foreign', label: app.t('renewals.kind.foreign')}], item.kind)),
      AB.h('td', {}, AB.ui.select('o_product', AB.productOptions(app, app.t('common.any_product')), item.product)),
      AB.h('td', {}, AB.h('input', {type: 'checkbox', name: 'o_enabled', checked: item.enabled !== false})),
      AB.h('td', {}, AB.ui.input('o_days', item.days_before || '', {type: 'number', min: 1, max: 365})),
      AB.h('td', {}, AB.ui.button('×', function () { $tr.remove(); }, {small: true, title: app.t('common.remove')})));
      return $tr;
    }
    function readOverrides() {
      return $overrides.find('tr.ab-override').map(function () {
        var $tr = $(this);
        var item = $.extend({}, $tr.data('item'));
        item.kind = $tr.find('[name="o_kind"]').val();
        item.product = $tr.find('[name="o_product"]').val();
        item.enabled = $tr.find('[name="o_enabled"]').prop('checked');
        var days = $tr.find('[name="o_days"]').val();
        if (days) { item.days_before = Number(days); } else { delete item.days_before; }
        return item;
      }).get();
    }
  }});

AB.STRATEGIES = ['seller', 'fixed', 'round_robin', 'least_loaded'];

AB.section({id: 'assignees', title: 'tab.assignees', roles: ['admin'], help: 'assignees.help',
  build: function (app, $el) {
    var $preview = AB.h('div', {cls: 'ab-preview-list', 'data-preview': 'renewals'});
    var $count = AB.ui.input('count', 10, {type: 'number', min: 1, max: 200});
    var $kind = AB.ui.select('kind', [{value: '', label: app.t('renewals.kind.any')},
      {value: 'ours', label: app.t('renewals.kind.ours')}, {value: 'foreign', label: app.t('renewals.kind.foreign')}], '');
    var crud = AB.crud(app, $el, {
      id: 'assignee-rule', formTitle: 'assignees.add',
      headers: [app.t('renewals.kind'), app.t('deal.product'), app.t('assignees.strategy'),
        app.t('assignees.who'), app.t('assignees.fallback'), ''],
      load: function () { return app.api.get('/renewals/rules').then(function (r) { return r.rules; }); },
      cells: function (r) {
        var who = r.strategy === 'fixed' ? AB.userName(app, r.fixed_user)
          : r.pool.length ? r.pool.map(function (id) { return AB.userName(app, id); }).join(', ') : '—';
        return [app.t('renewals.kind.' + r.kind), AB.productName(app, r.product),
          app.t('assignees.strategy.' + r.strategy), who, r.fallback_user ? AB.userName(app, r.fallback_user) : '—'];
      },
      remove: function (r) { return app.api.del('/renewals/rules/' + r.id).then(preview); },
      form: function () {
        var $pool = AB.h('div', {cls: 'ab-pool', 'data-field': 'pool'}, (app.ctx.users || []).map(function (u) {
          return AB.ui.checkbox('pool_' + u.id, false, u.name, {'data-user': u.id});
        }));
        return AB.h('form', {}, [
          AB.ui.field(app.t('renewals.kind'), AB.ui.select('kind', [{value: 'ours', label: app.t('renewals.kind.ours')},
            {value: 'foreign', label: app.t('renewals.kind.foreign')}], 'ours')),
          AB.ui.field(app.t('deal.product'), AB.ui.select('product', AB.productOptions(app, app.t('common.any_product')), '*')),
          AB.ui.field(app.t('assignees.strategy'), AB.ui.select('strategy', AB.STRATEGIES.map(function (s) {
            return {value: s, label: app.t('assignees.strategy.' + s)};
          }), 'seller')),
          AB.ui.field(app.t('assignees.fixed'), AB.ui.select('fixed_user', AB.userOptions(app, '—'), '')),
          AB.h('div', {cls: 'ab-field'}, [AB.h('span', {cls: 'ab-field__label', text: app.t('assignees.pool')}), $pool]),
          AB.ui.field(app.t('assignees.fallback'), AB.ui.select('fallback_user', AB.userOptions(app, '—'), '')),
          AB.submit(app, 'common.save', 'save-rule')]);
      },
      body: function (v) {
        var pool = Object.keys(v).filter(function (k) { return k.indexOf('pool_') === 0 && v[k]; })
          .map(function (k) { return Number(k.slice(5)); });
        return {body: {kind: v.kind, product: v.product, strategy: v.strategy,
          fixed_user: v.fixed_user ? Number(v.fixed_user) : null, pool: pool,
          fallback_user: v.fallback_user ? Number(v.fallback_user) : null}};
      },
      save: function (body) { return app.api.put('/renewals/rules', body).then(preview); }
    });
    $el.append(AB.h('h4', {text: app.t('assignees.preview')}),
      AB.h('div', {cls: 'ab-form ab-form--inline'}, [AB.ui.field(app.t('assignees.count'), $count),
        AB.ui.field(app.t('renewals.kind'), $kind),
        AB.ui.button(app.t('assignees.show'), preview, {data: {action: 'preview'}})]), $preview);
    $count.on('change', preview);
    $kind.on('change', preview);

    function preview() {
      var query = {count: Number($count.val()) || 10, lang: app.lang};
      if ($kind.val()) { query.kind = $kind.val(); }
      $preview.empty().append(AB.ui.loading(app));
      return app.api.get('/renewals/preview', query).then(function (r) {
        $preview.empty();
        if (!r.renewals.length) { $preview.append(AB.h('p', {cls: 'ab-muted', text: app.t('assignees.none')})); return; }
        $preview.append(AB.ui.table([app.t('assignees.client'), app.t('deal.product'), app.t('renewals.kind'),
          app.t('deal.ends_on'), app.t('assignees.due'), app.t('assignees.assignee'), app.t('assignees.reason')],
        r.renewals.map(function (x) {
          return AB.ui.row([x.client || '—', x.product_name, app.t('renewals.kind.' + x.kind),
            AB.fmt.date(x.ends_on), AB.fmt.date(x.due_on), x.assignee_name || AB.userName(app, x.assignee),
            AB.assigneeReason(app, x.reason)],
          {data: {policy: x.policy_id, assignee: x.assignee}});
        })));
      }, function (p) { $preview.empty().append(AB.ui.notice('error', p.detail)); });
    }
    preview();
    AB.availability(app, $el);
    return crud;
  }});

/* Who is away, and who covers for them (renewals skip an away manager). */
AB.availability = function (app, $el) {
  var $box = AB.h('div', {cls: 'ab-availability'});
  $el.append(AB.h('h4', {text: app.t('assignees.availability')}), $box);
  app.api.get('/renewals/users').then(function (r) {
    $box.append(AB.ui.table([app.t('common.user'), app.t('assignees.away_until'), app.t('assignees.backup'), ''],
      r.users.map(function (u) {
        var $away = AB.ui.input('away_until', u.away_until || '', {type: 'date'});
        var $backup = AB.ui.select('backup_user', AB.userOptions(app, '—'), u.backup_user || '');
        var $row = AB.ui.row([u.name, $away, $backup, AB.ui.button(app.t('common.save'), function () {
          app.api.put('/renewals/users/' + u.id + '/availability', {away_until: $away.val() || null,
            backup_user: $backup.val() ? Number($backup.val()) : null}).then(function () {
            $row.find('.ab-notice').remove();
            $row.children().last().append(AB.ui.notice('ok', app.t('common.saved')));
          }, function (p) { $row.children().last().append(AB.ui.notice('error', p.detail)); });
        }, {small: true})], {data: {user: u.id}});
        return $row;
      })));
  }, function (p) { $box.append(AB.ui.notice('error', p.detail)); });
};

/* The preview's reason is a short code from the bridge ("seller", "backup of 8011002 (…)");
 * the known ones read as words, with user ids as names. */
AB.assigneeReason = function (app, reason) {
  var text = String(reason || '');
  var code = text.split(' ')[0];
  var known = app.t('assignees.why.' + code);
  if (known === 'assignees.why.' + code) { return text; }
  var backup = /^backup of (?:fallback )?(\d+)/.exec(text);
  if (backup) { return AB.format(known, {user: AB.userName(app, Number(backup[1]))}); }
  var load = /\((\d+) open before\)/.exec(text);
  return AB.format(known, {open: load ? load[1] : '0'});
};
