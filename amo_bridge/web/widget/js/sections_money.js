/* Money settings (seed 002, part 1): plans per manager and month, who is finance, commission
 * rates per insurer and product, salary rules of the two employees. */
AB.section({id: 'plans', title: 'tab.plans', roles: ['admin'], help: 'plans.help', build: function (app, $el) {
  var $month = AB.ui.input('month', AB.thisMonth(app), {type: 'month'});
  var $table = AB.h('div', {cls: 'ab-plans'});
  $el.append(AB.h('div', {cls: 'ab-form ab-form--inline'}, AB.ui.field(app.t('dash.period'), $month)), $table);
  function load() {
    var month = $month.val();
    $table.empty().append(AB.ui.loading(app));
    app.api.get('/plans', {period: month}).then(function (r) {
      var by = {};
      r.plans.forEach(function (p) { if (p.product === '*') { by[p.manager] = p; } });
      $table.empty().append(AB.ui.table([app.t('common.user'), app.t('plans.income'), app.t('plans.premium'), ''],
        (app.ctx.users || []).filter(function (u) { return u.active; }).map(function (u) {
          var plan = by[u.id] || {};
          var $income = AB.ui.input('income_target', AB.fmt.moneyInput(plan.income_target), {inputmode: 'decimal'});
          var $premium = AB.ui.input('premium_target', AB.fmt.moneyInput(plan.premium_target), {inputmode: 'decimal'});
          var $row = AB.ui.row([u.name, $income, $premium, AB.ui.button(app.t('common.save'), function () {
            var income = AB.fmt.parseMoney($income.val());
            var premium = AB.fmt.parseMoney($premium.val());
            $row.find('.ab-notice').remove();
            if (income !== income || premium !== premium) {
              $row.children().last().append(AB.ui.notice('error', app.t('error.money')));
              return;
            }
            app.api.put('/plans', {manager: u.id, month: month, product: '*', income_target: income,
              premium_target: premium}).then(function () {
              $row.children().last().append(AB.ui.notice('ok', app.t('common.saved')));
            }, function (p) { $row.children().last().append(AB.ui.notice('error', p.detail)); });
          }, {small: true, data: {action: 'save-plan'}})], {data: {user: u.id}});
          return $row;
        })));
    }, function (p) { $table.empty().append(AB.ui.notice('error', p.detail)); });
  }
  $month.on('change', load);
  load();
}});

AB.section({id: 'roles', title: 'tab.roles', roles: ['admin'], help: 'roles.help', build: function (app, $el) {
  var $list = AB.h('div');
  var $doors = AB.h('div', {cls: 'ab-doors'});
  $el.append($list, AB.h('h4', {text: app.t('roles.doors')}), $doors);
  app.api.get('/roles').then(function (r) {
    $list.append(AB.ui.table([app.t('common.user'), 'Email', app.t('role.admin'), app.t('role.finance')],
      r.users.map(function (u) {
        var $box = AB.h('input', {type: 'checkbox', name: 'finance', checked: u.finance, 'data-user': u.id});
        $box.on('change', function () {
          $box.prop('disabled', true);
          app.api.put('/roles/' + u.id, {finance: $box.prop('checked')}).then(function (saved) {
            $box.prop('disabled', false).prop('checked', saved.finance);
          }, function (p) {
            $box.prop('disabled', false).prop('checked', !$box.prop('checked'));
            $list.prepend(AB.ui.notice('error', p.detail));
          });
        });
        return AB.ui.row([u.name, u.email || '—', u.admin ? app.t('common.yes') : '—', $box], {data: {user: u.id}});
      })));
  }, function (p) { $list.append(AB.ui.notice('error', p.detail)); });
  app.api.get('/export-rights').then(function (r) {
    if (!r.users.length) { $doors.append(AB.ui.notice('ok', app.t('roles.doors_closed', {n: r.checked}))); return; }
    $doors.append(AB.ui.notice('warn', app.t('roles.doors_open')), AB.ui.table([app.t('common.user'), app.t('roles.can_export')],
      r.users.map(function (u) {
        return AB.ui.row([u.name, Object.keys(u.can_export).concat(u.unknown.map(function (k) { return k + '?'; })).join(', ')]);
      })));
  });
}});

AB.section({id: 'rates', title: 'tab.rates', roles: ['admin', 'finance'], help: 'rates.help', build: function (app, $el) {
  AB.crud(app, $el, {
    id: 'commission-rate', formTitle: 'rates.add',
    headers: [app.t('deal.insurer'), app.t('deal.product'), app.t('rates.valid_from'), app.t('deal.commission'), ''],
    load: function () { return app.api.get('/commission-rates').then(function (r) { return r.rates; }); },
    cells: function (r) { return [r.insurer, AB.productName(app, r.product), AB.fmt.date(r.valid_from), AB.fmt.pct(r.rate_pct)]; },
    remove: function (r) { return app.api.del('/commission-rates/' + r.id); },
    form: function () {
      return AB.h('form', {}, [
        AB.ui.field(app.t('deal.insurer'), AB.ui.input('insurer', '', {list: 'ab-rate-insurers'})),
        AB.h('datalist', {id: 'ab-rate-insurers'}, app.ctx.insurers.map(function (i) { return AB.h('option', {value: i}); })),
        AB.ui.field(app.t('deal.product'), AB.ui.select('product', AB.productOptions(app), null)),
        AB.ui.field(app.t('rates.valid_from'), AB.ui.input('valid_from', app.ctx.today, {type: 'date'})),
        AB.ui.field(app.t('deal.commission_pct'), AB.ui.input('rate_pct', '', {inputmode: 'decimal'})),
        AB.submit(app, 'common.add', 'add-rate')]);
    },
    body: function (v) {
      var pct = AB.fmt.parsePct(v.rate_pct);
      if (pct === null || pct !== pct) { return {errors: {rate_pct: [app.t('error.percent')]}}; }
      return {body: {insurer: v.insurer, product: v.product, valid_from: v.valid_from, rate_pct: pct}};
    },
    save: function (body) { return app.api.post('/commission-rates', body); }
  });
}});

AB.section({id: 'salary', title: 'tab.salary', roles: ['admin', 'finance'], help: 'salary.help', build: function (app, $el) {
  AB.crud(app, $el, {
    id: 'salary-rule', formTitle: 'salary.add',
    headers: [app.t('salary.role'), app.t('deal.product'), app.t('common.user'), app.t('salary.basis'),
      app.t('salary.value'), app.t('rates.valid_from'), ''],
    load: function () { return app.api.get('/salary-rules').then(function (r) { return r.rules; }); },
    cells: function (r) {
      return [app.t('salary.role.' + r.role), AB.productName(app, r.product),
        r.user === '*' ? app.t('salary.everyone') : AB.userName(app, Number(r.user)), app.t('salary.basis.' + r.basis),
        r.basis === 'fixed' ? AB.fmt.money(r.fixed_amount) : AB.fmt.pct(r.pct), AB.fmt.date(r.valid_from)];
    },
    remove: function (r) { return app.api.del('/salary-rules/' + r.id); },
    form: function () {
      return AB.h('form', {}, [
        AB.ui.field(app.t('salary.role'), AB.ui.select('role', [{value: 'seller', label: app.t('salary.role.seller')},
          {value: 'issuer', label: app.t('salary.role.issuer')}], 'seller')),
        AB.ui.field(app.t('deal.product'), AB.ui.select('product', AB.productOptions(app, app.t('common.any_product')), '*')),
        AB.ui.field(app.t('common.user'), AB.ui.select('user', [{value: '*', label: app.t('salary.everyone')}]
          .concat(AB.userOptions(app)), '*')),
        AB.ui.field(app.t('salary.basis'), AB.ui.select('basis', ['income_pct', 'premium_pct', 'fixed'].map(function (b) {
          return {value: b, label: app.t('salary.basis.' + b)};
        }), 'income_pct')),
        AB.ui.field(app.t('salary.value'), AB.ui.input('value', '', {inputmode: 'decimal'}), app.t('salary.value_hint')),
        AB.ui.field(app.t('rates.valid_from'), AB.ui.input('valid_from', app.ctx.today, {type: 'date'})),
        AB.submit(app, 'common.add', 'add-salary-rule')]);
    },
    body: function (v) {
      var body = {role: v.role, product: v.product, user: v.user, basis: v.basis, valid_from: v.valid_from};
      if (v.basis === 'fixed') {
        var amount = AB.fmt.parseMoney(v.value);
        if (amount === null || amount !== amount) { return {errors: {value: [app.t('error.money')]}}; }
        body.fixed_amount = amount;
      } else {
        var pct = AB.fmt.parsePct(v.value);
        if (pct === null || pct !== pct) { return {errors: {value: [app.t('error.percent')]}}; }
        body.pct = pct;
      }
      return {body: body};
    },
    save: function (body) { return app.api.post('/salary-rules', body); }
  });
}});
