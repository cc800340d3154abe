/* The form of one policy line. Income, the commission from the rate table (when the % is left
 * blank) and the salary shares are recomputed by the bridge as the manager types. */
AB.LineForm = function (app, leadId, panel, line) {
  this.app = app;
  this.leadId = leadId;
  this.panel = panel;
  this.line = line;
  this.onSaved = function () {};
  this.onCancel = function () {};
};

AB.LineForm.prototype.build = function () {
  var app = this.app;
  var self = this;
  var line = this.line || {};
  var deal = this.panel.deal;
  var object = line.insured_object || {};
  var ui = AB.ui;
  var firstProduct = app.ctx.products.length ? app.ctx.products[0].code : '';
  var insurers = AB.h('datalist', {id: 'ab-insurers-' + this.leadId},
    app.ctx.insurers.map(function (name) { return AB.h('option', {value: name}); }));
  this.$preview = AB.h('div', {cls: 'ab-preview', 'aria-live': 'polite'});
  var $more = AB.h('details', {cls: 'ab-more', open: !!(line.sum_insured || object.vin || object.plate)}, [
    AB.h('summary', {text: app.t('deal.more')}),
    ui.field(app.t('deal.sum_insured'), ui.input('sum_insured', AB.fmt.moneyInput(line.sum_insured),
      {inputmode: 'decimal'})),
    ui.field(app.t('deal.deductible'), ui.input('deductible', AB.fmt.moneyInput(line.deductible),
      {inputmode: 'decimal'})),
    ui.field(app.t('deal.make'), ui.input('make', object.make || '')),
    ui.field(app.t('deal.model'), ui.input('model', object.model || '')),
    ui.field(app.t('deal.year'), ui.input('year', object.year || '', {inputmode: 'numeric', maxlength: 4})),
    ui.field(app.t('deal.plate'), ui.input('plate', object.plate || '')),
    ui.field(app.t('deal.vin'), ui.input('vin', object.vin || '', {maxlength: 17})),
    ui.field(app.t('deal.terms'), AB.h('textarea', {name: 'terms', cls: 'ab-input', rows: 2,
      value: line.terms || ''}))]);
  var defaultSeller = line.seller ? line.seller.id : (deal.seller || deal.responsible);
  var defaultIssuer = line.issuer ? line.issuer.id : (deal.issuer || deal.responsible);
  this.$form = AB.h('form', {cls: 'ab-form', 'data-form': 'policy-line', novalidate: true,
    on: {submit: function (e) { e.preventDefault(); self.save(); }}}, [
    AB.h('h4', {text: this.line ? app.t('deal.edit_title') : app.t('deal.add_title')}),
    ui.field(app.t('deal.product'), ui.select('product', AB.productOptions(app),
      line.product || firstProduct)),
    ui.field(app.t('deal.insurer'), ui.input('insurer', line.insurer || '',
      {list: 'ab-insurers-' + this.leadId, autocomplete: 'off'})), insurers,
    ui.field(app.t('deal.number'), ui.input('number', line.number || '')),
    ui.field(app.t('deal.premium_rub'), ui.input('premium', AB.fmt.moneyInput(line.premium),
      {inputmode: 'decimal', placeholder: '0,00'})),
    ui.field(app.t('deal.commission_pct'), ui.input('commission_pct',
      line.commission_pct ? String(line.commission_pct).replace('.', ',') : '',
      {inputmode: 'decimal', placeholder: app.t('deal.commission_auto')})),
    ui.field(app.t('deal.starts_on'), ui.input('starts_on', line.starts_on || '', {type: 'date'})),
    ui.field(app.t('deal.ends_on'), ui.input('ends_on', line.ends_on || '', {type: 'date'}),
      app.t('deal.ends_hint')),
    ui.field(app.t('deal.seller'), ui.select('seller', AB.userOptions(app, '—'), defaultSeller)),
    ui.field(app.t('deal.issuer'), ui.select('issuer', AB.userOptions(app, '—'), defaultIssuer)),
    $more, this.$preview,
    AB.h('div', {cls: 'ab-form__actions'}, [
      AB.h('button', {type: 'submit', cls: 'ab-btn ab-btn--primary', text: app.t('common.save'),
        'data-action': 'save-line'}),
      ui.button(app.t('common.cancel'), function () { self.onCancel(); })])]);
  var preview = AB.debounce(function () { self.preview(); }, 250);
  this.$form.on('input change', 'input, select, textarea', preview);
  this.$form.on('change', 'input[name="starts_on"]', function () {
    var $end = self.$form.find('input[name="ends_on"]');
    if (!$end.val()) { $end.val(AB.fmt.yearAfter($(this).val())); }
  });
  this.preview();
  return this.$form;
};

/* The form as the API wants it; {errors} when something cannot be read. */
AB.LineForm.prototype.body = function () {
  var v = AB.formValues(this.$form);
  var errors = {};
  var app = this.app;
  function money(name, required) {
    var value = AB.fmt.parseMoney(v[name]);
    if (value !== value) { errors[name] = [app.t('error.money')]; return null; }
    return value === null && required ? 0 : value;
  }
  var pct = AB.fmt.parsePct(v.commission_pct);
  if (pct !== pct) { errors.commission_pct = [app.t('error.percent')]; pct = null; }
  var object = {};
  ['make', 'model', 'year', 'plate', 'vin'].forEach(function (k) { if (v[k]) { object[k] = v[k]; } });
  if (object.year && !/^\d{4}$/.test(object.year)) { errors.year = [app.t('error.year')]; }
  var body = {
    product: v.product, premium: money('premium', true), insurer: v.insurer || null,
    number: v.number || null, commission_pct: pct, starts_on: v.starts_on || null,
    ends_on: v.ends_on || null, seller: v.seller ? Number(v.seller) : null,
    issuer: v.issuer ? Number(v.issuer) : null, sum_insured: money('sum_insured'),
    deductible: money('deductible'), insured_object: object, terms: v.terms || null
  };
  return {body: body, errors: Object.keys(errors).length ? errors : null};
};

AB.LineForm.prototype.preview = function () {
  var app = this.app;
  var self = this;
  var read = this.body();
  if (read.errors || !read.body.product) { return; }
  var seq = (this._seq = (this._seq || 0) + 1);
  app.api.post('/deals/' + this.leadId + '/policies/preview', read.body).then(function (f) {
    if (seq !== self._seq) { return; }
    var source = f.commission_source === 'rate' ? app.t('deal.rate_from_table', {pct: AB.fmt.pct(f.commission_pct)})
      : f.commission_source === 'none' ? app.t('deal.rate_none') : AB.fmt.pct(f.commission_pct);
    self.$preview.empty().append(
      AB.h('div', {'data-preview': 'income'}, [app.t('deal.income') + ': ',
        AB.h('b', {cls: 'ab-preview__income', text: AB.fmt.money(f.income)}), ' (' + source + ')']),
      f.seller_share !== undefined ? AB.h('div', {cls: 'ab-muted', text: app.t('deal.shares', {
        seller: AB.fmt.money(f.seller_share), issuer: AB.fmt.money(f.issuer_share)})}) : null);
  }, function (p) {
    if (seq === self._seq && p.status !== 422) { self.$preview.empty().append(AB.ui.notice('error', p.detail)); }
  });
};

AB.LineForm.prototype.save = function () {
  var app = this.app;
  var self = this;
  var read = this.body();
  if (read.errors) {
    AB.ui.showProblem(this.$form, {detail: app.t('error.form'), errors: read.errors});
    return;
  }
  var path = '/deals/' + this.leadId + '/policies' + (this.line ? '/' + this.line.id : '');
  var call = this.line ? app.api.put(path, read.body) : app.api.post(path, read.body);
  this.$form.find('button[type="submit"]').prop('disabled', true);
  call.then(function (panel) { self.onSaved(panel); }, function (p) {
    self.$form.find('button[type="submit"]').prop('disabled', false);
    AB.ui.showProblem(self.$form, p);
  });
};
