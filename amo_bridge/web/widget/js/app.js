/* The widget's life inside amoCRM: which area it is in (deal card, contact card, settings,
 * the advanced settings page, the Digital Pipeline), what it mounts there. */
AB.App = function (widget) {
  this.w = widget;
  this.settings = widget.get_settings() || {};
  this.system = (widget.system && widget.system()) || {};
  var lang = String(this.settings.lang || this.system.lang || (window.AMOCRM && AMOCRM.lang_id) || 'ru');
  this.lang = lang.slice(0, 2) === 'en' ? 'en' : 'ru';
  this.api = new AB.Api(this);
  this.ctx = null;
  this.mounted = [];
};

AB.App.prototype.t = function (key, values) {
  var table = this.w.i18n('ui') || {};
  var text = table[key];
  if (text === undefined) { return key; }
  return values ? AB.format(text, values) : text;
};

AB.App.prototype.area = function () {
  return String(this.system.area || '').replace(/-1$/, '');
};

AB.App.prototype.code = function () {
  return this.settings.widget_code || AB.CODE;
};

/* The card the user looks at: amoCRM keeps it in AMOCRM.data.current_card. */
AB.App.prototype.cardId = function () {
  var card = window.AMOCRM && AMOCRM.data && AMOCRM.data.current_card;
  var id = card && (card.id || (card.model && card.model.id));
  return id ? Number(id) : null;
};

/* Who am I, products, users, insurers — loaded once per page. */
AB.App.prototype.context = function () {
  var app = this;
  if (!this._context) {
    this._context = this.api.get('/context', {lang: this.lang}).then(function (ctx) {
      app.ctx = ctx;
      return ctx;
    });
  }
  return this._context;
};

AB.App.prototype.loadStyle = function () {
  var id = 'ab-style-' + this.code();
  if (document.getElementById(id) || !this.settings.path) { return; }
  $('head').append(AB.h('link', {id: id, rel: 'stylesheet', type: 'text/css',
    href: this.settings.path + '/style.css?v=' + (this.settings.version || AB.VERSION)}));
};

AB.App.prototype.render = function () {
  var area = this.area();
  if (area !== 'lcard' && area !== 'ccard') { return; }
  this.w.render_template({
    caption: {class_name: 'ab-caption'},
    body: '',
    render: this.w.render({data: AB.TEMPLATES.card_root}, {area: area, lang: this.lang})
  });
};

AB.App.prototype.init = function () { this.loadStyle(); };

AB.App.prototype.bindActions = function () {
  var area = this.area();
  var $root = $('#ab-root-' + area);
  if (!$root.length || $root.data('ab-mounted')) { return; }
  $root.data('ab-mounted', true);
  var id = this.cardId();
  if (area === 'lcard') { this.mount(new AB.DealPanel(this, $root, id)); }
  if (area === 'ccard') { this.mount(new AB.ContactPanel(this, $root, id)); }
};

AB.App.prototype.mount = function (view) {
  var app = this;
  this.mounted.push(view);
  view.$root.empty().append(AB.ui.loading(this));
  this.context().then(function () { view.start(); }, function (problem) {
    view.$root.empty().append(AB.ui.notice('error', problem.detail));
  });
};

/* The full settings page amoCRM gives a widget with the advanced_settings location. */
AB.App.prototype.advancedSettings = function () {
  this.loadStyle();
  var $area = $('#work-area-' + this.code());
  var $root = AB.h('div', {cls: 'ab-root ab-root--page', id: 'ab-root-page'});
  $area.empty().append($root);
  this.mount(new AB.SettingsPage(this, $root));
};

/* The widget's settings modal: what it is connected to, who I am, where the rest lives. */
AB.App.prototype.settingsModal = function ($modal) {
  this.loadStyle();
  var $root = AB.h('div', {cls: 'ab-root ab-root--modal', id: 'ab-root-modal'});
  $($modal).find('.widget_settings_block__descr, .ab-root--modal').remove();
  $($modal).find('.widget_settings_block, .modal-body').first().append($root);
  if (!$root.parent().length) { $($modal).append($root); }
  this.mount(new AB.ConnectionView(this, $root));
};

/* Digital Pipeline: the action «amo-bridge: отправить SMS» picks a template for the stage. */
AB.App.prototype.dpSettings = function () {
  this.loadStyle();
  var $form = $('.digital-pipeline__short-task_widget-style_' + this.code() + ', .ab-dp-form').first();
  if (!$form.length) { return; }
  var $root = AB.h('div', {cls: 'ab-root ab-root--dp', id: 'ab-root-dp'});
  $form.find('.ab-root--dp').remove();
  $form.append($root);
  this.mount(new AB.DpView(this, $root, $form));
};

AB.App.prototype.destroy = function () {
  this.mounted.forEach(function (view) { if (view.destroy) { view.destroy(); } });
  this.mounted = [];
};

/* The settings modal: the connection and the caller's role. */
AB.ConnectionView = function (app, $root) { this.app = app; this.$root = $root; };
AB.ConnectionView.prototype.start = function () {
  var app = this.app;
  var ctx = app.ctx;
  var roles = ctx.user.roles.map(function (r) { return app.t('role.' + r); }).join(', ');
  this.$root.empty().append(
    AB.ui.notice('ok', app.t('connection.ok', {account: ctx.account.name})),
    AB.h('p', {text: app.t('connection.user', {name: ctx.user.name, roles: roles})}),
    AB.h('p', {cls: 'ab-muted', text: app.t('connection.where')}));
};
