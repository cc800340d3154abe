/* The bridge's widget API through amoCRM's $authorizedAjax: every call carries the disposable
 * JWT in X-Auth-Token (AMOCRM.md, Widgets). Answers are JSON; errors are problem+json, turned
 * into {status, title, detail, errors} with a message a person can read. */
AB.Api = function (app) {
  this.app = app;
  var base = String(app.settings.backend_url || AB.BACKEND_URL || '').replace(/\/+$/, '');
  this.base = base + '/widget/api';
};

AB.Api.prototype.call = function (method, path, body, opts) {
  var app = this.app;
  var done = $.Deferred();
  var request = {
    url: this.base + path,
    type: method,
    dataType: (opts && opts.dataType) || 'json',
    headers: {'Accept-Language': app.lang},
    timeout: 60000
  };
  if (opts && opts.headers) { $.extend(request.headers, opts.headers); }
  if (body !== undefined && body !== null) {
    if (typeof FormData !== 'undefined' && body instanceof FormData) {
      request.data = body;
      request.processData = false;
      request.contentType = false;
    } else {
      request.data = JSON.stringify(body);
      request.contentType = 'application/json';
    }
  }
  app.w.$authorizedAjax(request).then(function (data) {
    done.resolve(data);  // one value, so $.when() over several calls hands back the bodies
  }, function (xhr) {
    done.reject(AB.problem(xhr, app));
  });
  return done.promise();
};

AB.Api.prototype.get = function (path, query) {
  var q = query ? '?' + $.param(query) : '';
  return this.call('GET', path + q);
};
AB.Api.prototype.post = function (path, body, opts) { return this.call('POST', path, body || {}, opts); };
AB.Api.prototype.put = function (path, body) { return this.call('PUT', path, body || {}); };
AB.Api.prototype.patch = function (path, body) { return this.call('PATCH', path, body || {}); };
AB.Api.prototype.del = function (path) { return this.call('DELETE', path, null, {dataType: 'text'}); };

/* A failed call → {status, title, detail, errors}; the text is in the user's language. */
AB.problem = function (xhr, app) {
  var body = xhr && xhr.responseJSON;
  if (!body && xhr && xhr.responseText) {
    try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
  }
  var status = xhr ? xhr.status : 0;
  if (!status) {
    return {status: 0, title: 'network', detail: app.t('error.network'), errors: null};
  }
  body = body || {};
  var detail = body.detail || body.title || app.t('error.unknown');
  if (body.messages && body.messages[app.lang]) { detail = body.messages[app.lang]; }
  return {status: status, title: body.title || '', detail: detail, errors: body.errors || null,
    type: body.type || ''};
};
