/* amo-bridge widget for amoCRM (interface version 2).
 *
 * A RequireJS module returning the widget's constructor with amoCRM's callbacks. The panels,
 * settings sections and charts live in js/*.js; `amo-bridge widget build` inlines them where
 * the marker below stands, so amoCRM loads one file, and writes the bridge's URL in. */
define(['jquery'], function ($) {
  'use strict';

  var AB = {BACKEND_URL: '@@BACKEND_URL@@', VERSION: '@@VERSION@@', CODE: 'amo_bridge'};

  /* @@PARTS@@ */

  var CustomWidget = function () {
    var self = this;
    var app = null;

    function start() {
      if (!app) { app = new AB.App(self); }
      return app;
    }

    this.callbacks = {
      render: function () { start().render(); return true; },
      init: function () { start().init(); return true; },
      bind_actions: function () { start().bindActions(); return true; },
      settings: function ($modal) { start().settingsModal($modal); return true; },
      advancedSettings: function () { start().advancedSettings(); return true; },
      dpSettings: function () { start().dpSettings(); return true; },
      onSave: function () { return true; },
      destroy: function () {
        if (app) { app.destroy(); }
        app = null;
      },
      contacts: {selected: function () { return true; }},
      leads: {selected: function () { return true; }},
      tasks: {selected: function () { return true; }}
    };
    return this;
  };

  return CustomWidget;
});
