/* The Digital Pipeline action «amo-bridge: отправить SMS»: in amoCRM's pipeline settings an
 * admin attaches a template to a stage. amoCRM keeps the choice in the action's settings
 * (manifest dp.settings.template) and posts it to the bridge's DP hook when a deal arrives. */
AB.DpView = function (app, $root, $form) {
  this.app = app;
  this.$root = $root;
  this.$form = $form;
};

AB.DpView.prototype.start = function () {
  var app = this.app;
  var self = this;
  var $input = this.$form.find('input[name="template"]');
  app.api.get('/sms/templates', {lang: app.lang}).then(function (r) {
    var usable = r.templates.filter(function (t) { return t.is_active && t.code !== 'verification'; });
    var current = $input.val() || (usable[0] && usable[0].code) || '';
    var $select = AB.ui.select('ab_template', usable.map(function (t) {
      return {value: t.code, label: t.name || t.code};
    }), current, {'data-dp': 'template'});
    var $text = AB.h('div', {cls: 'ab-sms__text'});
    function show() {
      var t = usable.filter(function (x) { return x.code === $select.val(); })[0];
      $input.val($select.val()).trigger('change');
      $text.text(t ? t.body : '');
    }
    $select.on('change', show);
    $input.closest('.widget_settings_block__item_field').hide();
    self.$root.empty().append(AB.h('p', {cls: 'ab-muted', text: app.t('dp.help')}),
      AB.ui.field(app.t('dp.template'), $select), $text);
    show();
  }, function (p) { self.$root.empty().append(AB.ui.notice('error', p.detail)); });
};
