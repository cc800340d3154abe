/* Confirming the client's phone by an SMS code (seed 000: a client is added with phone
 * confirmation). The code itself never reaches the widget: the bridge checks it. */
AB.PhoneCheck = function (app, $root, contactId) {
  this.app = app;
  this.$root = $root;
  this.contactId = contactId;
};

AB.PhoneCheck.prototype.start = function () {
  var self = this;
  var app = this.app;
  app.api.get('/contacts/' + this.contactId + '/summary', {lang: app.lang}).then(function (c) {
    self.draw(c);
  }, function (p) { self.$root.empty().append(AB.ui.notice('error', p.detail)); });
};

AB.PhoneCheck.prototype.draw = function (c) {
  var app = this.app;
  var self = this;
  var $box = this.$root.empty();
  if (!c.phones.length) { $box.append(AB.h('p', {cls: 'ab-muted', text: app.t('phone.none')})); return; }
  var verified = c.verified_phone;
  var options = c.phones.map(function (p) { return {value: p.phone, label: p.phone + (p.label ? ' (' + p.label + ')' : '')}; });
  c.phones.forEach(function (p) {
    var ok = verified && p.phone === verified;
    $box.append(AB.h('div', {cls: 'ab-phone__row', data: {phone: p.phone}}, [
      AB.h('span', {text: p.phone}), ' ',
      ok ? AB.ui.badge('ok', app.t('phone.verified', {date: AB.fmt.dateTime(c.phone_verified_at)}))
        : AB.ui.badge('muted', app.t('phone.not_verified'))]));
  });
  if (c.opted_out) { $box.append(AB.ui.notice('warn', app.t('phone.opted_out'))); }
  $box.append(this.consent(c));
  var $select = AB.ui.select('phone', options, verified || c.phones[0].phone);
  this.$step = AB.h('div', {cls: 'ab-phone__step'});
  $box.append(AB.h('form', {cls: 'ab-form ab-form--inline', 'data-form': 'verify-start',
    on: {submit: function (e) { e.preventDefault(); self.send($(this), $select.val()); }}}, [
    options.length > 1 ? AB.ui.field(app.t('phone.which'), $select) : null,
    AB.h('button', {type: 'submit', cls: 'ab-btn', text: app.t('phone.send_code'),
      'data-action': 'send-code'})]), this.$step);
};

AB.PhoneCheck.prototype.send = function ($form, phone) {
  var app = this.app;
  var self = this;
  AB.ui.clearProblem($form);
  app.api.post('/sms/verifications', {contact_id: this.contactId, phone: phone}).then(function (v) {
    self.askCode(v);
  }, function (p) { AB.ui.showProblem($form, p); });
};

AB.PhoneCheck.prototype.askCode = function (v) {
  var app = this.app;
  var self = this;
  var $code = AB.ui.input('code', '', {inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 8});
  var $form = AB.h('form', {cls: 'ab-form ab-form--inline', 'data-form': 'verify-confirm',
    on: {submit: function (e) {
      e.preventDefault();
      AB.ui.clearProblem($form);
      app.api.post('/sms/verifications/' + v.id + '/confirm', {code: $.trim($code.val())}).then(function (r) {
        self.$step.empty().append(AB.ui.notice('ok', r.message || app.t('phone.done')));
        setTimeout(function () { self.start(); }, 400);
      }, function (p) { AB.ui.showProblem($form, p); });
    }}}, [
    AB.h('p', {cls: 'ab-muted', text: app.t('phone.code_sent', {phone: v.phone,
      time: AB.fmt.dateTime(v.expires_at)})}),
    AB.ui.field(app.t('phone.code'), $code),
    AB.h('button', {type: 'submit', cls: 'ab-btn ab-btn--primary', text: app.t('phone.confirm'),
      'data-action': 'confirm-code'})]);
  this.$step.empty().append($form);
  $code.trigger('focus');
};

/* Marketing SMS need the client's consent; a client may refuse SMS altogether (audited). */
AB.PhoneCheck.prototype.consent = function (c) {
  var app = this.app;
  var self = this;
  var $form = AB.h('div', {cls: 'ab-consent', 'data-form': 'consent'}, [
    AB.ui.checkbox('marketing_consent', c.marketing_consent, app.t('phone.consent')),
    AB.ui.checkbox('opted_out', c.opted_out, app.t('phone.opt_out'))]);
  $form.on('change', 'input', function () {
    var body = {};
    body[$(this).attr('name')] = $(this).prop('checked');
    app.api.put('/sms/contacts/' + self.contactId + '/consent', body).then(function () {
      self.start();
    }, function (p) { $form.append(AB.ui.notice('error', p.detail)); });
  });
  return $form;
};
