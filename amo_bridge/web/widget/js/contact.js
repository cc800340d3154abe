/* The contact card's panel (seed 002, part 4): every policy of the client — ours and foreign —,
 * what ends next, who issued it and on what terms; adding a foreign policy (part 2); confirming
 * the client's phone by an SMS code (seed 000). Income and commission are never shown here. */
AB.ContactPanel = function (app, $root, contactId) {
  this.app = app;
  this.$root = $root;
  this.contactId = contactId;
};

AB.ContactPanel.prototype.start = function () {
  var app = this.app;
  this.$history = AB.h('div', {cls: 'ab-history'});
  this.$phone = AB.h('div', {cls: 'ab-phone'});
  this.$foreign = AB.h('div', {cls: 'ab-form-slot'});
  this.$sms = AB.h('div', {cls: 'ab-sms'});
  var self = this;
  this.$root.empty().append(
    AB.h('div', {cls: 'ab-panel', 'data-panel': 'contact'}, [
      AB.h('h3', {cls: 'ab-title', text: app.t('contact.title')}), this.$history, this.$foreign,
      AB.ui.button(app.t('contact.add_foreign'), function () { self.openForeign(); },
        {data: {action: 'add-foreign'}})]),
    AB.h('div', {cls: 'ab-panel', 'data-panel': 'contact-phone'}, [
      AB.h('h3', {cls: 'ab-title', text: app.t('phone.title')}), this.$phone]),
    AB.h('div', {cls: 'ab-panel', 'data-panel': 'contact-sms'}, [
      AB.h('h3', {cls: 'ab-title', text: app.t('sms.title')}), this.$sms]));
  if (!this.contactId) { this.$history.append(AB.ui.notice('info', app.t('contact.no_card'))); return; }
  this.load();
  new AB.PhoneCheck(app, this.$phone, this.contactId).start();
  new AB.SmsBlock(app, this.$sms, {contact_id: this.contactId}).start();
};

AB.ContactPanel.prototype.load = function () {
  var app = this.app;
  var self = this;
  app.api.get('/clients/' + this.contactId + '/history', {lang: app.lang}).then(function (h) {
    self.draw(h);
  }, function (p) {
    self.$history.empty().append(AB.ui.notice(p.status === 404 ? 'info' : 'error',
      p.status === 404 ? app.t('contact.not_synced') : p.detail));
  });
};

AB.ContactPanel.prototype.draw = function (h) {
  var app = this.app;
  var self = this;
  var $box = this.$history.empty();
  var today = app.ctx.today;
  if (h.ends_next) {
    var days = AB.fmt.daysBetween(today, h.ends_next.ends_on);
    $box.append(AB.h('div', {cls: 'ab-notice ab-notice--warn', 'data-ends-next': h.ends_next.id},
      app.t('contact.ends_next', {product: h.ends_next.product_name,
        insurer: h.ends_next.insurer || '—', date: AB.fmt.date(h.ends_next.ends_on), days: days})));
  }
  if (!h.policies.length) { $box.append(AB.h('p', {cls: 'ab-muted', text: app.t('contact.no_policies')})); }
  h.policies.forEach(function (p) {
    var object = p.insured_object || {};
    var car = [object.make, object.model, object.year, object.plate].filter(Boolean).join(' ');
    $box.append(AB.h('div', {cls: 'ab-line ab-line--' + p.status, data: {policy: p.id, kind: p.kind}}, [
      AB.h('div', {cls: 'ab-line__head'}, [
        AB.ui.badge(p.kind === 'ours' ? 'ok' : 'muted', app.t('contact.kind.' + p.kind)), ' ',
        AB.h('b', {text: p.product_name}), ' ', AB.h('span', {text: p.insurer || ''}), ' ',
        AB.ui.badge(p.status === 'active' ? 'ok' : 'muted', app.t('contact.status.' + p.status))]),
      AB.h('div', {cls: 'ab-line__row'}, p.starts_on ? app.t('contact.term', {number: p.number || '—',
        from: AB.fmt.date(p.starts_on), to: AB.fmt.date(p.ends_on)})
        : app.t('contact.term_until', {number: p.number || '—', to: AB.fmt.date(p.ends_on)})),
      p.premium ? AB.h('div', {cls: 'ab-line__row'}, app.t('contact.premium', {premium: AB.fmt.money(p.premium)})) : null,
      car ? AB.h('div', {cls: 'ab-line__row ab-muted', text: car}) : null,
      p.terms ? AB.h('div', {cls: 'ab-line__row ab-muted', text: p.terms}) : null,
      p.kind === 'ours' ? AB.h('div', {cls: 'ab-line__row ab-muted'}, app.t('deal.people', {
        seller: p.seller.name || '—', issuer: p.issuer.name || '—'})) : null,
      p.kind === 'foreign' ? AB.h('div', {cls: 'ab-line__actions'}, AB.ui.button(app.t('common.remove'),
        function () { self.removeForeign(p); }, {small: true, danger: true, data: {action: 'remove-foreign'}})) : null]));
  });
  if (h.deals.length) {
    $box.append(AB.h('h4', {text: app.t('contact.deals')}));
    h.deals.slice(0, 10).forEach(function (d) {
      $box.append(AB.h('div', {cls: 'ab-deal', data: {deal: d.id}}, [
        AB.ui.badge(d.state === 'won' ? 'ok' : d.state === 'lost' ? 'error' : 'muted', app.t('contact.deal.' + d.state)),
        ' ', d.name || ('#' + d.id), ' · ', AB.fmt.money(d.price),
        d.loss_reason ? AB.h('span', {cls: 'ab-muted', text: ' · ' + d.loss_reason}) : null]));
    });
  }
};

AB.ContactPanel.prototype.openForeign = function () {
  var app = this.app;
  var self = this;
  var ui = AB.ui;
  var $form = AB.h('form', {cls: 'ab-form', 'data-form': 'foreign-policy', novalidate: true,
    on: {submit: function (e) { e.preventDefault(); self.saveForeign($form); }}}, [
    AB.h('h4', {text: app.t('contact.foreign_title')}),
    ui.field(app.t('deal.product'), ui.select('product', AB.productOptions(app), null)),
    ui.field(app.t('deal.insurer'), ui.input('insurer', '')),
    ui.field(app.t('deal.number'), ui.input('number', '')),
    ui.field(app.t('deal.starts_on'), ui.input('starts_on', '', {type: 'date'})),
    ui.field(app.t('deal.ends_on'), ui.input('ends_on', '', {type: 'date', required: true})),
    ui.field(app.t('deal.premium_rub'), ui.input('premium', '', {inputmode: 'decimal'})),
    ui.field(app.t('deal.terms'), AB.h('textarea', {name: 'terms', cls: 'ab-input', rows: 2})),
    AB.h('div', {cls: 'ab-form__actions'}, [
      AB.h('button', {type: 'submit', cls: 'ab-btn ab-btn--primary', text: app.t('common.save'),
        'data-action': 'save-foreign'}),
      ui.button(app.t('common.cancel'), function () { self.$foreign.empty(); })])]);
  $form.on('change', 'input[name="starts_on"]', function () {
    var $end = $form.find('input[name="ends_on"]');
    if (!$end.val()) { $end.val(AB.fmt.yearAfter($(this).val())); }
  });
  this.$foreign.empty().append($form);
};

AB.ContactPanel.prototype.saveForeign = function ($form) {
  var app = this.app;
  var self = this;
  var v = AB.formValues($form);
  var premium = AB.fmt.parseMoney(v.premium);
  if (premium !== premium) {
    AB.ui.showProblem($form, {detail: app.t('error.form'), errors: {premium: [app.t('error.money')]}});
    return;
  }
  var body = {product: v.product, insurer: v.insurer || null, number: v.number || null,
    starts_on: v.starts_on || null, ends_on: v.ends_on || null, premium: premium, terms: v.terms || null};
  if (!body.ends_on) {
    AB.ui.showProblem($form, {detail: app.t('error.form'), errors: {ends_on: [app.t('error.required')]}});
    return;
  }
  app.api.post('/renewals/contacts/' + this.contactId + '/policies', body).then(function () {
    self.$foreign.empty();
    self.load();
  }, function (p) { AB.ui.showProblem($form, p); });
};

AB.ContactPanel.prototype.removeForeign = function (policy) {
  var app = this.app;
  var self = this;
  if (!window.confirm(app.t('deal.remove_confirm', {product: policy.product_name}))) { return; }
  app.api.del('/renewals/policies/' + policy.id).then(function () { self.load(); }, function (p) {
    self.$history.prepend(AB.ui.notice('error', p.detail));
  });
};
