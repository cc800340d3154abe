/* Small DOM helpers: every text goes in through .text(), never as HTML, so nothing a client
 * or a manager typed can run as markup inside amoCRM. */
AB.h = function (tag, attrs, children) {
  var $el = $(document.createElement(tag));
  attrs = attrs || {};
  Object.keys(attrs).forEach(function (key) {
    var value = attrs[key];
    if (value === undefined || value === null || value === false) { return; }
    if (key === 'text') { $el.text(value); } else if (key === 'on') {
      Object.keys(value).forEach(function (event) { $el.on(event, value[event]); });
    } else if (key === 'cls') { $el.addClass(value); } else if (key === 'data') {
      Object.keys(value).forEach(function (k) { $el.attr('data-' + k, value[k]); });
    } else if (key === 'value') { $el.val(value); } else if (value === true) {
      $el.prop(key, true);
    } else { $el.attr(key, value); }
  });
  AB.append($el, children);
  return $el;
};

AB.append = function ($el, children) {
  if (children === undefined || children === null) { return $el; }
  if (!$.isArray(children)) { children = [children]; }
  children.forEach(function (child) {
    if (child === null || child === undefined || child === false) { return; }
    if (typeof child === 'string' || typeof child === 'number') {
      $el.append(document.createTextNode(String(child)));
    } else { $el.append(child); }
  });
  return $el;
};

AB.ui = {
  notice: function (kind, text) {
    return AB.h('div', {cls: 'ab-notice ab-notice--' + kind, role: kind === 'error' ? 'alert' : 'status',
      text: text});
  },
  loading: function (app) { return AB.h('div', {cls: 'ab-loading', text: app.t('common.loading')}); },
  button: function (text, onClick, opts) {
    opts = opts || {};
    return AB.h('button', {type: 'button', cls: 'ab-btn' + (opts.primary ? ' ab-btn--primary' : '') +
      (opts.danger ? ' ab-btn--danger' : '') + (opts.small ? ' ab-btn--small' : ''),
      text: text, title: opts.title, disabled: opts.disabled, data: opts.data,
      on: onClick ? {click: onClick} : null});
  },
  field: function (label, $input, hint) {
    var name = $input.attr('name');
    return AB.h('label', {cls: 'ab-field', data: name ? {field: name} : null}, [
      AB.h('span', {cls: 'ab-field__label', text: label}), $input,
      hint ? AB.h('span', {cls: 'ab-field__hint', text: hint}) : null,
      AB.h('span', {cls: 'ab-field__error'})
    ]);
  },
  input: function (name, value, attrs) {
    return AB.h('input', $.extend({name: name, type: 'text', value: value === null ? '' : value,
      cls: 'ab-input'}, attrs || {}));
  },
  select: function (name, options, selected, attrs) {
    var $select = AB.h('select', $.extend({name: name, cls: 'ab-input'}, attrs || {}));
    options.forEach(function (o) {
      var $o = AB.h('option', {value: String(o.value), text: o.label});
      if (String(o.value) === String(selected === null || selected === undefined ? '' : selected)) {
        $o.prop('selected', true);
      }
      $select.append($o);
    });
    return $select;
  },
  checkbox: function (name, checked, label, attrs) {
    return AB.h('label', {cls: 'ab-check'}, [
      AB.h('input', $.extend({type: 'checkbox', name: name, checked: !!checked}, attrs || {})),
      AB.h('span', {text: label})]);
  },
  table: function (headers, rows, opts) {
    var $table = AB.h('table', {cls: 'ab-table' + (opts && opts.cls ? ' ' + opts.cls : '')});
    $table.append(AB.h('thead', {}, AB.h('tr', {}, headers.map(function (h) {
      return AB.h('th', {text: h});
    }))));
    var $body = AB.h('tbody');
    rows.forEach(function (row) { $body.append(row); });
    $table.append($body);
    return $table;
  },
  row: function (cells, attrs) {
    return AB.h('tr', attrs || {}, cells.map(function (cell) {
      return (cell && cell.jquery) ? AB.h('td', {}, cell) : AB.h('td', {text: cell === null ? '—' : cell});
    }));
  },
  badge: function (kind, text) { return AB.h('span', {cls: 'ab-badge ab-badge--' + kind, text: text}); },

  /* Show a failed call on a form: the detail on top, field messages next to their fields. */
  showProblem: function ($form, problem) {
    $form.find('.ab-field__error').text('');
    $form.find('.ab-field').removeClass('ab-field--invalid');
    $form.find('.ab-form__problem').remove();
    var errors = problem && problem.errors;
    if (errors && typeof errors === 'object') {
      Object.keys(errors).forEach(function (name) {
        var $f = $form.find('.ab-field[data-field="' + name + '"]');
        var text = [].concat(errors[name]).map(function (e) {
          return typeof e === 'string' ? e : JSON.stringify(e);
        }).join(' ');
        $f.addClass('ab-field--invalid').find('.ab-field__error').text(text);
      });
    }
    $form.prepend(AB.ui.notice('error', problem.detail).addClass('ab-form__problem'));
  },
  clearProblem: function ($form) {
    $form.find('.ab-form__problem').remove();
    $form.find('.ab-field__error').text('');
    $form.find('.ab-field').removeClass('ab-field--invalid');
  },
  /* Save a text answer (CSV) as a file: a browser download cannot carry the JWT header. */
  saveText: function (name, text, type) {
    var blob = new Blob([text], {type: type || 'text/plain'});
    var url = URL.createObjectURL(blob);
    var $a = AB.h('a', {href: url, download: name}).appendTo(document.body);
    $a[0].click();
    setTimeout(function () { URL.revokeObjectURL(url); $a.remove(); }, 1000);
  }
};

/* Collect named fields of a form into a plain object of strings (checkboxes → booleans). */
AB.formValues = function ($form) {
  var values = {};
  $form.find('input[name], select[name], textarea[name]').each(function () {
    var $i = $(this);
    if ($i.attr('type') === 'checkbox') { values[$i.attr('name')] = $i.prop('checked'); } else {
      values[$i.attr('name')] = $.trim($i.val() || '');
    }
  });
  return values;
};

AB.userOptions = function (app, withEmpty) {
  var options = withEmpty ? [{value: '', label: withEmpty}] : [];
  (app.ctx.users || []).forEach(function (u) {
    options.push({value: u.id, label: u.name + (u.active ? '' : ' (' + app.t('common.inactive') + ')')});
  });
  return options;
};

AB.userName = function (app, id) {
  var found = (app.ctx.users || []).filter(function (u) { return u.id === id; })[0];
  return found ? found.name : (id ? '#' + id : '—');
};

AB.productOptions = function (app, withAny) {
  var options = withAny ? [{value: '*', label: withAny}] : [];
  (app.ctx.products || []).forEach(function (p) { options.push({value: p.code, label: p.name}); });
  return options;
};

AB.productName = function (app, code) {
  if (code === '*') { return app.t('common.any_product'); }
  var found = (app.ctx.products || []).filter(function (p) { return p.code === code; })[0];
  return found ? found.name : code;
};
