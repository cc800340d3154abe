/* The harness plays amoCRM around the built widget: it loads script.js through RequireJS,
 * gives the constructor amoCRM's host methods, and calls the callbacks amoCRM calls for the
 * chosen area. $authorizedAjax signs each call with a real token (HS256, the integration's
 * secret) minted by the bridge's development-only endpoint. */
(function () {
  'use strict';
  var H = window.HARNESS;
  var AREAS = [['lcard', 'Карточка сделки'], ['ccard', 'Карточка контакта'],
    ['settings', 'Настройки виджета'], ['advanced_settings', 'Страница виджета'],
    ['digital_pipeline', 'Digital Pipeline']];
  var CODE = 'amo_bridge';

  requirejs.config({paths: {jquery: H.assets + '/jquery.min'}});

  require(['jquery'], function ($) {
    var params = new URLSearchParams(window.location.search);
    var state = {user: params.get('user'), area: params.get('area') || 'lcard',
      lead: params.get('lead'), contact: params.get('contact'), lang: params.get('lang') || 'ru'};
    var tokens = {};
    var data = null;

    function go(change) {
      var next = $.extend({}, state, change);
      var q = new URLSearchParams();
      Object.keys(next).forEach(function (k) { if (next[k]) { q.set(k, next[k]); } });
      window.location.search = q.toString();
    }

    function token() {
      var cached = tokens[state.user];
      if (cached && cached.until > Date.now()) { return $.Deferred().resolve(cached.token).promise(); }
      return $.ajax({url: H.api + '/token', type: 'POST', contentType: 'application/json',
        dataType: 'json', data: JSON.stringify({user_id: Number(state.user)})}).then(function (r) {
        tokens[state.user] = {token: r.token, until: Date.now() + (r.expires_in - 60) * 1000};
        return r.token;
      });
    }

    /* amoCRM's $authorizedAjax: jQuery ajax plus the X-Auth-Token header. */
    function authorizedAjax(options) {
      var done = $.Deferred();
      token().then(function (signed) {
        var request = $.extend({}, options);
        request.headers = $.extend({}, options.headers || {}, {'X-Auth-Token': signed});
        $.ajax(request).then(done.resolve, done.reject);
      }, done.reject);
      return done.promise();
    }

    /* The part of Twig amoCRM's render() offers that the widget uses: {{ name }}, escaped. */
    function render(template, values) {
      var source = template.data || '';
      return source.replace(/\{\{\s*([\w.]+)(\|[\w]+)?\s*\}\}/g, function (m, name) {
        var value = values && values[name];
        return $('<span>').text(value === undefined || value === null ? '' : String(value)).html();
      });
    }

    function drawTop() {
      $('#hz-account').text(data.account ? data.account.name + ' (' + data.account.subdomain + ')' : 'нет аккаунта');
      data.users.forEach(function (u) {
        var roles = (u.admin ? ' — админ' : '') + (u.finance ? ' — финансы' : '');
        $('#hz-user').append($('<option>').val(u.id).text(u.name + roles));
      });
      $('#hz-user').val(state.user).on('change', function () { go({user: $(this).val()}); });
      AREAS.forEach(function (a) {
        $('#hz-areas').append($('<a href="#">').text(a[1]).attr('data-area', a[0])
          .toggleClass('hz-active', a[0] === state.area)
          .on('click', function (e) { e.preventDefault(); go({area: a[0]}); }));
      });
      data.deals.forEach(function (d) { $('#hz-lead').append($('<option>').val(d.id).text(d.name)); });
      data.contacts.forEach(function (c) { $('#hz-contact').append($('<option>').val(c.id).text(c.name)); });
      $('#hz-lead').val(state.lead).on('change', function () { go({lead: $(this).val()}); });
      $('#hz-contact').val(state.contact).on('change', function () { go({contact: $(this).val()}); });
      $('#hz-lead-pick').toggle(state.area === 'lcard');
      $('#hz-contact-pick').toggle(state.area === 'ccard');
      $('#hz-lang').val(state.lang).on('change', function () { go({lang: $(this).val()}); });
    }

    function drawArea() {
      var $main = $('#hz-main');
      if (state.area === 'lcard' || state.area === 'ccard') {
        var isDeal = state.area === 'lcard';
        var item = (isDeal ? data.deals : data.contacts).filter(function (x) {
          return String(x.id) === String(isDeal ? state.lead : state.contact);
        })[0] || {};
        $main.append($('<div class="hz-card">').append(
          $('<div class="hz-card__left">').append($('<h2>').text(item.name || '—'),
            $('<p>').text((isDeal ? 'Сделка №' : 'Контакт №') + (item.id || '—')),
            isDeal && item.price !== undefined ? $('<p>').text('Бюджет: ' + (item.price / 100) + ' ₽') : null),
          $('<div class="hz-card__right" id="widgets_block">')));
      } else if (state.area === 'settings') {
        $main.append($('<div class="hz-modal widget-settings" id="hz-settings-modal">').append(
          $('<h2>').text('amo-bridge — настройки виджета'),
          $('<div class="widget_settings_block">').append($('<div class="widget_settings_block__item_field">').append(
            $('<label>').text('Адрес сервера amo-bridge'), $('<input name="backend_url">'))),
          $('<button type="button" id="hz-save">').text('Сохранить')));
      } else if (state.area === 'advanced_settings') {
        $main.append($('<div class="hz-page" id="work-area-' + CODE + '">'));
      } else if (state.area === 'digital_pipeline') {
        $main.append($('<div class="hz-modal">').append($('<h2>').text('Этап воронки → действие «amo-bridge: отправить SMS»'),
          $('<form class="ab-dp-form digital-pipeline__short-task_widget-style_' + CODE + '">').append(
            $('<div class="widget_settings_block__item_field">').append($('<label>').text('Шаблон SMS'),
              $('<input name="template">'))),
          $('<button type="button" id="hz-save">').text('Сохранить'), $('<pre class="hz-json" id="hz-dp-json">')));
      }
    }

    function drawPhone() {
      $.getJSON(H.api + '/data').then(function (fresh) {
        var $box = $('#hz-sms').empty();
        if (!fresh.sms.length) { $box.append($('<p>').text('SMS ещё не было.')); }
        fresh.sms.forEach(function (m) {
          $box.append($('<div class="hz-sms">').attr('data-sms', m.id).text(m.text || '').append(
            $('<small>').text((m.phone || '') + ' · ' + m.status + ' · ' + m.rule)));
        });
      });
    }

    function loadWidget() {
      var base = H.widgetBase;
      $.when($.getJSON(base + '/i18n/' + state.lang + '.json'), $.getJSON(base + '/manifest.json'))
        .then(function (i18nAnswer, manifestAnswer) {
          var langs = i18nAnswer[0];
          var manifest = manifestAnswer[0];
          var user = data.users.filter(function (u) { return String(u.id) === String(state.user); })[0] || {};
          var isDeal = state.area === 'lcard';
          window.AMOCRM = {
            lang_id: state.lang,
            data: {current_entity: isDeal ? 'leads' : 'contacts',
              current_card: state.area === 'lcard' || state.area === 'ccard'
                ? {id: Number(isDeal ? state.lead : state.contact)} : null},
            constant: function (name) {
              return {user: {id: user.id, name: user.name}, account: data.account}[name];
            },
            widgets: {}
          };
          require([base + '/script.js'], function (Widget) {
            var host = {
              params: {widget_code: CODE, path: base, version: manifest.widget.version},
              get_settings: function () {
                return {widget_code: CODE, path: base, images_path: base + '/images/',
                  version: manifest.widget.version, lang: state.lang, status: 'installed',
                  // The manifest's backend_url setting; ?backend= makes the calls cross-origin.
                  backend_url: params.get('backend') || $('input[name="backend_url"]').val() || ''};
              },
              system: function () {
                return {area: state.area, amouser_id: user.id, amouser: user.name, lang: state.lang,
                  subdomain: data.account && data.account.subdomain, domain: 'amocrm.ru'};
              },
              i18n: function (key) { return langs[key]; },
              render: render,
              render_template: function (options) {
                var caption = (options.caption && options.caption.class_name) || '';
                $('#widgets_block').append($('<div class="card-widgets__widget">').append(
                  $('<div class="card-widgets__widget__caption">').addClass(caption).text(langs.widget.name),
                  $('<div class="card-widgets__widget__body">').html((options.body || '') + (options.render || ''))));
              },
              $authorizedAjax: authorizedAjax,
              crm_post: function () { throw new Error('crm_post is not available in the harness'); },
              set_settings: function () { return true; }
            };
            $.extend(Widget.prototype, host);
            var widget = new Widget();
            var cb = widget.callbacks;
            if (state.area === 'lcard' || state.area === 'ccard') {
              cb.render(); cb.init(); cb.bind_actions();
            } else if (state.area === 'settings') {
              cb.init(); cb.settings($('#hz-settings-modal'));
              $('#hz-save').on('click', function () { $(this).text(cb.onSave({}) ? 'Сохранено' : 'Ошибка'); });
            } else if (state.area === 'advanced_settings') {
              cb.init(); cb.advancedSettings();
            } else if (state.area === 'digital_pipeline') {
              cb.init(); cb.dpSettings();
              $('#hz-save').on('click', function () {
                var ok = cb.onSave({});
                var stored = {saved: ok, action: {settings: {widget: {settings: {
                  template: $('input[name="template"]').val()}}}}};
                $('#hz-dp-json').text(JSON.stringify(stored, null, 2));
              });
            }
            document.body.setAttribute('data-harness', 'ready');
          });
        });
    }

    $.getJSON(H.api + '/data').then(function (answer) {
      data = answer;
      var admin = data.users.filter(function (u) { return u.admin; })[0] || data.users[0] || {};
      state.user = state.user || String(admin.id || '');
      state.lead = state.lead || String((data.deals[0] || {}).id || '');
      state.contact = state.contact || String((data.contacts[0] || {}).id || '');
      drawTop();
      drawArea();
      drawPhone();
      setInterval(drawPhone, 2000);
      loadWidget();
    });
  });
}());
