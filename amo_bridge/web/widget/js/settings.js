/* The advanced settings page: dashboards first (people would rather look than read), then one
 * tab per settings section. A tab needing a role the caller lacks says so instead of failing. */
AB.sections = [];

AB.section = function (def) { AB.sections.push(def); };

AB.SettingsPage = function (app, $root) {
  this.app = app;
  this.$root = $root;
};

AB.SettingsPage.prototype.start = function () {
  var app = this.app;
  var self = this;
  this.$tabs = AB.h('nav', {cls: 'ab-tabs', role: 'tablist'});
  this.$body = AB.h('section', {cls: 'ab-tab-body', role: 'tabpanel'});
  this.$root.empty().append(
    AB.h('h2', {cls: 'ab-page-title', text: app.t('page.title')}),
    AB.h('p', {cls: 'ab-muted', text: app.t('page.who', {name: app.ctx.user.name,
      roles: app.ctx.user.roles.map(function (r) { return app.t('role.' + r); }).join(', ')})}),
    this.$tabs, this.$body);
  AB.sections.forEach(function (s) {
    self.$tabs.append(AB.h('button', {type: 'button', cls: 'ab-tab', role: 'tab', text: app.t(s.title),
      data: {tab: s.id}, on: {click: function () { self.open(s.id); }}}));
  });
  var remembered = null;
  try { remembered = window.sessionStorage.getItem('ab-tab'); } catch (e) { remembered = null; }
  this.open(remembered && this.find(remembered) ? remembered : AB.sections[0].id);
};

AB.SettingsPage.prototype.find = function (id) {
  return AB.sections.filter(function (s) { return s.id === id; })[0];
};

AB.SettingsPage.prototype.open = function (id) {
  var app = this.app;
  var section = this.find(id);
  try { window.sessionStorage.setItem('ab-tab', id); } catch (e) { /* private mode */ }
  this.$tabs.find('.ab-tab').removeClass('ab-tab--active').attr('aria-selected', 'false');
  this.$tabs.find('[data-tab="' + id + '"]').addClass('ab-tab--active').attr('aria-selected', 'true');
  var $el = AB.h('div', {cls: 'ab-section', data: {section: id}});
  this.$body.empty().append(AB.h('h3', {cls: 'ab-title', text: app.t(section.title)}), $el);
  var roles = section.roles || [];
  var allowed = !roles.length || roles.some(function (r) { return app.ctx.user.roles.indexOf(r) >= 0; });
  if (!allowed) {
    $el.append(AB.ui.notice('info', app.t('page.needs_role', {roles: roles.map(function (r) {
      return app.t('role.' + r);
    }).join(' / ')})));
    return;
  }
  if (section.help) { $el.append(AB.h('p', {cls: 'ab-muted', text: app.t(section.help)})); }
  section.build(app, $el);
};

/* A list with an "add" form and delete buttons: rates, salary rules, plans, rules. */
AB.crud = function (app, $el, opts) {
  var $list = AB.h('div', {cls: 'ab-crud__list'});
  var $form = opts.form();
  $form.addClass('ab-form ab-form--grid').attr('data-form', opts.id).on('submit', function (e) {
    e.preventDefault();
    var read = opts.body(AB.formValues($form));
    if (read.errors) { AB.ui.showProblem($form, {detail: app.t('error.form'), errors: read.errors}); return; }
    opts.save(read.body).then(function () { AB.ui.clearProblem($form); load(); },
      function (p) { AB.ui.showProblem($form, p); });
  });
  function load() {
    $list.empty().append(AB.ui.loading(app));
    opts.load().then(function (items) {
      $list.empty();
      if (!items.length) { $list.append(AB.h('p', {cls: 'ab-muted', text: app.t('common.empty')})); return; }
      $list.append(AB.ui.table(opts.headers, items.map(function (item) {
        var cells = opts.cells(item);
        if (opts.remove) {
          cells.push(AB.ui.button(app.t('common.remove'), function () {
            opts.remove(item).then(load, function (p) { $list.prepend(AB.ui.notice('error', p.detail)); });
          }, {small: true, danger: true, data: {action: 'remove'}}));
        }
        return AB.ui.row(cells, {data: {row: item.id}});
      })));
    }, function (p) { $list.empty().append(AB.ui.notice('error', p.detail)); });
  }
  $el.append($list, AB.h('h4', {text: app.t(opts.formTitle)}), $form);
  load();
  return {reload: load};
};

AB.submit = function (app, text, action) {
  return AB.h('button', {type: 'submit', cls: 'ab-btn ab-btn--primary', text: app.t(text || 'common.save'),
    'data-action': action || 'save'});
};

AB.saved = function (app, $form) {
  AB.ui.clearProblem($form);
  $form.prepend(AB.ui.notice('ok', app.t('common.saved')).addClass('ab-form__problem'));
};

/* "2026-11" for the month a page shows by default: the bridge's today, not the browser's. */
AB.thisMonth = function (app) { return String(app.ctx.today).slice(0, 7); };
