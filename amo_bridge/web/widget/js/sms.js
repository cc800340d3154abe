/* SMS of a deal or a contact: the history with delivery states, and sending a message from a
 * template with a live preview and the segment count (what the client pays for). */
AB.SmsBlock = function (app, $root, target) {
  this.app = app;
  this.$root = $root;
  this.target = target;  // {deal_id: amoCRM id} or {contact_id: amoCRM id}
};

AB.SmsBlock.prototype.start = function () {
  this.$list = AB.h('div', {cls: 'ab-sms__list'});
  this.$send = AB.h('div', {cls: 'ab-sms__send'});
  this.$root.empty().append(this.$list, this.$send);
  this.load();
  this.drawSend();
};

AB.SmsBlock.prototype.load = function () {
  var app = this.app;
  var self = this;
  app.api.get('/sms/messages', $.extend({lang: app.lang}, this.target)).then(function (data) {
    self.$list.empty();
    if (!data.messages.length) {
      self.$list.append(AB.h('p', {cls: 'ab-muted', text: app.t('sms.none')}));
      return;
    }
    data.messages.slice(0, 20).forEach(function (m) {
      var kind = {delivered: 'ok', sent: 'ok', failed: 'error', rejected: 'error',
        needs_attention: 'warn'}[m.status] || 'muted';
      self.$list.append(AB.h('div', {cls: 'ab-sms__item', data: {sms: m.id, status: m.status}}, [
        AB.h('div', {}, [AB.ui.badge(kind, app.t('sms.status.' + m.status)), ' ',
          AB.h('span', {cls: 'ab-muted', text: AB.fmt.dateTime(m.sent_at || m.created_at)}),
          m.segments ? AB.h('span', {cls: 'ab-muted', text: ' · ' + app.t('sms.segments', {n: m.segments})}) : null]),
        AB.h('div', {cls: 'ab-sms__text', text: m.text || app.t('sms.hidden')}),
        m.reason ? AB.h('div', {cls: 'ab-muted', text: m.reason}) : null]));
    });
  }, function (p) { self.$list.empty().append(AB.ui.notice('error', p.detail)); });
};

AB.SmsBlock.prototype.drawSend = function () {
  var app = this.app;
  var self = this;
  app.api.get('/sms/templates', {lang: app.lang}).then(function (data) {
    var active = data.templates.filter(function (t) { return t.is_active && t.code !== 'verification'; });
    if (!active.length) { return; }
    self.templates = active;
    var $select = AB.ui.select('template_code', active.map(function (t) {
      return {value: t.code, label: t.name || t.code};
    }), active[0].code);
    self.$preview = AB.h('div', {cls: 'ab-preview ab-sms__preview', 'aria-live': 'polite'});
    self.key = String(Date.now()) + Math.random().toString(16).slice(2);
    var $form = AB.h('form', {cls: 'ab-form ab-form--inline', 'data-form': 'sms-send',
      on: {submit: function (e) { e.preventDefault(); self.send($form); }}}, [
      AB.ui.field(app.t('sms.template'), $select), self.$preview,
      AB.h('button', {type: 'submit', cls: 'ab-btn', text: app.t('sms.send'), 'data-action': 'send-sms'})]);
    $select.on('change', function () { self.preview($select.val()); });
    self.$send.empty().append($form);
    self.preview($select.val());
  });
};

AB.SmsBlock.prototype.preview = function (code) {
  var app = this.app;
  var self = this;
  var template = this.templates.filter(function (t) { return t.code === code; })[0];
  if (!template) { return; }
  app.api.post('/sms/templates/preview', {body: template.body}).then(function (shown) {
    self.$preview.empty().append(AB.h('div', {cls: 'ab-sms__text', text: shown.text}),
      AB.h('div', {cls: 'ab-muted', 'data-segments': shown.segments,
        text: app.t('sms.segment_count', {n: shown.segments, encoding: shown.encoding})}),
      shown.warning ? AB.ui.notice('warn', shown.warning) : null);
  }, function (p) { self.$preview.empty().append(AB.ui.notice('error', p.detail)); });
};

AB.SmsBlock.prototype.send = function ($form) {
  var app = this.app;
  var self = this;
  var body = $.extend({template_code: $form.find('select').val()}, this.target);
  app.api.post('/sms/messages', body, {headers: {'Idempotency-Key': this.key}}).then(function () {
    self.key = String(Date.now()) + Math.random().toString(16).slice(2);
    AB.ui.clearProblem($form);
    $form.prepend(AB.ui.notice('ok', app.t('sms.queued')).addClass('ab-form__problem'));
    setTimeout(function () { self.load(); }, 800);
  }, function (p) { AB.ui.showProblem($form, p); });
};
