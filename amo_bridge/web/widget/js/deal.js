/* The deal card's right-hand panel: the deal's policy lines (seed 002, part 1 — product, price,
 * insurer, our %, income, term, the two employees), income computed as you type, the price
 * check against amoCRM's budget, and the deal's SMS. */
AB.DealPanel = function (app, $root, leadId) {
  this.app = app;
  this.$root = $root;
  this.leadId = leadId;
  this.panel = null;
};

AB.DealPanel.prototype.start = function () {
  var app = this.app;
  this.$lines = AB.h('div', {cls: 'ab-lines'});
  this.$sms = AB.h('div', {cls: 'ab-sms'});
  this.$root.empty().append(
    AB.h('div', {cls: 'ab-panel', 'data-panel': 'deal'}, [
      AB.h('h3', {cls: 'ab-title', text: app.t('deal.title')}), this.$lines]),
    AB.h('div', {cls: 'ab-panel', 'data-panel': 'deal-sms'}, [
      AB.h('h3', {cls: 'ab-title', text: app.t('sms.title')}), this.$sms]));
  if (!this.leadId) {
    this.$lines.append(AB.ui.notice('info', app.t('deal.no_card')));
    return;
  }
  this.load();
  new AB.SmsBlock(app, this.$sms, {deal_id: this.leadId}).start();
};

AB.DealPanel.prototype.load = function () {
  var self = this;
  return this.app.api.get('/deals/' + this.leadId + '/policies', {lang: this.app.lang})
    .then(function (panel) { self.draw(panel); }, function (p) {
      self.$lines.empty().append(AB.ui.notice('error', p.detail));
    });
};

AB.DealPanel.prototype.draw = function (panel) {
  var app = this.app;
  var self = this;
  this.panel = panel;
  var $box = this.$lines.empty();
  var totals = panel.totals;
  $box.append(AB.h('div', {cls: 'ab-totals'}, [
    AB.h('span', {cls: 'ab-total', 'data-total': 'premium'},
      [app.t('deal.total_premium') + ': ', AB.h('b', {text: AB.fmt.money(totals.premium)})]),
    AB.h('span', {cls: 'ab-total', 'data-total': 'income'},
      [app.t('deal.total_income') + ': ', AB.h('b', {text: AB.fmt.money(totals.income)})])]));
  if (panel.managed) { $box.append(this.priceCheck(panel)); }
  if (!panel.lines.length) {
    $box.append(AB.ui.notice('info', app.t('deal.empty')));
    if (panel.mapped && panel.mapped.product) {
      $box.append(AB.h('p', {cls: 'ab-muted ab-mapped', text: app.t('deal.mapped', {
        product: panel.mapped.product, insurer: panel.mapped.insurer || '—',
        premium: panel.mapped.premium ? AB.fmt.money(panel.mapped.premium) : '—'})}));
    }
  }
  panel.lines.forEach(function (line) { $box.append(self.lineCard(line)); });
  this.$form = AB.h('div', {cls: 'ab-form-slot'});
  $box.append(this.$form, AB.ui.button(app.t('deal.add'), function () { self.openForm(null); },
    {primary: true, data: {action: 'add-line'}}));
};

AB.DealPanel.prototype.priceCheck = function (panel) {
  var app = this.app;
  var self = this;
  if (panel.price_in_sync) {
    return AB.h('p', {cls: 'ab-muted', 'data-price': 'ok',
      text: app.t('deal.price_ok', {price: AB.fmt.money(panel.price_target * 100, {whole: true})})});
  }
  return AB.h('div', {cls: 'ab-notice ab-notice--warn', 'data-price': 'differs'}, [
    app.t('deal.price_differs', {price: AB.fmt.money((panel.deal.price || 0) * 100, {whole: true}),
      target: AB.fmt.money(panel.price_target * 100, {whole: true})}), ' ',
    AB.ui.button(app.t('deal.price_sync'), function () {
      app.api.post('/deals/' + self.leadId + '/price-sync').then(function () {
        setTimeout(function () { self.load(); }, 1500);
      });
    }, {small: true})]);
};

AB.DealPanel.prototype.lineCard = function (line) {
  var app = this.app;
  var self = this;
  var term = AB.fmt.date(line.starts_on) + ' — ' + AB.fmt.date(line.ends_on);
  var $card = AB.h('div', {cls: 'ab-line' + (line.cancelled_on ? ' ab-line--cancelled' : ''),
    data: {line: line.id}}, [
    AB.h('div', {cls: 'ab-line__head'}, [
      AB.h('b', {text: line.product_name}), ' ',
      line.insurer ? AB.h('span', {text: line.insurer}) : null,
      line.source === 'deal' ? AB.ui.badge('muted', app.t('deal.from_fields')) : null,
      line.cancelled_on ? AB.ui.badge('warn', app.t('deal.cancelled', {date: AB.fmt.date(line.cancelled_on)})) : null]),
    AB.h('div', {cls: 'ab-line__row'}, [app.t('deal.number') + ': ', line.number || '—']),
    AB.h('div', {cls: 'ab-line__row'}, [app.t('deal.term') + ': ', term]),
    AB.h('div', {cls: 'ab-line__row', 'data-figure': 'premium'},
      [app.t('deal.premium') + ': ', AB.h('b', {text: AB.fmt.money(line.premium)}),
        ' · ' + app.t('deal.commission') + ': ' + AB.fmt.pct(line.commission_pct)]),
    AB.h('div', {cls: 'ab-line__row', 'data-figure': 'income'},
      [app.t('deal.income') + ': ', AB.h('b', {text: AB.fmt.money(line.income)})]),
    (line.seller_share || line.issuer_share) ? AB.h('div', {cls: 'ab-line__row ab-muted'},
      app.t('deal.shares', {seller: AB.fmt.money(line.seller_share),
        issuer: AB.fmt.money(line.issuer_share)})) : null,
    AB.h('div', {cls: 'ab-line__row ab-muted'}, app.t('deal.people', {
      seller: line.seller.name || '—', issuer: line.issuer.name || '—'})),
    AB.h('div', {cls: 'ab-line__actions'}, [
      AB.ui.button(app.t('common.edit'), function () { self.openForm(line); },
        {small: true, data: {action: 'edit-line'}}),
      AB.ui.button(app.t('common.remove'), function () { self.remove(line); },
        {small: true, danger: true, data: {action: 'remove-line'}})])]);
  return $card;
};

AB.DealPanel.prototype.remove = function (line) {
  var self = this;
  var app = this.app;
  if (!window.confirm(app.t('deal.remove_confirm', {product: line.product_name}))) { return; }
  app.api.del('/deals/' + this.leadId + '/policies/' + line.id).then(function () {
    self.load();
  }, function (p) {
    self.$lines.prepend(AB.ui.notice('error', p.detail).addClass('ab-form__problem'));
  });
};

AB.DealPanel.prototype.openForm = function (line) {
  var form = new AB.LineForm(this.app, this.leadId, this.panel, line);
  var self = this;
  form.onSaved = function (panel) { self.draw(panel); self.refreshPriceSoon(); };
  form.onCancel = function () { self.$form.empty(); };
  this.$form.empty().append(form.build());
  form.$form.find('select[name="product"]').trigger('focus');
};

/* The price job runs right after the save; look again when it has had time to finish. */
AB.DealPanel.prototype.refreshPriceSoon = function () {
  var self = this;
  clearTimeout(this._priceTimer);
  this._priceTimer = setTimeout(function () {
    if (self.panel && !self.panel.price_in_sync && !self.$form.children().length) { self.load(); }
  }, 2500);
};

AB.DealPanel.prototype.destroy = function () { clearTimeout(this._priceTimer); };
