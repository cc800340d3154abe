/* Formatting and parsing the way a Russian reader writes money, dates and percentages.
 * Money crosses the API as integer kopecks; people type and read roubles. */
AB.fmt = (function () {
  var NBSP = '\u00a0';

  function groups(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, NBSP);
  }

  function money(kopecks, opts) {
    if (kopecks === null || kopecks === undefined || kopecks === '') { return '—'; }
    var n = Number(kopecks);
    var sign = n < 0 ? '−' : '';
    n = Math.abs(n);
    var whole = Math.floor(n / 100);
    var cents = n % 100;
    var text = sign + groups(String(whole));
    if (!(opts && opts.whole) || cents) { text += ',' + (cents < 10 ? '0' : '') + cents; }
    return text + NBSP + '₽';
  }

  /* "12 345,67" / "12345.67" / "12 345" → 1234567 kopecks; '' → null; garbage → NaN. */
  function parseMoney(text) {
    var raw = String(text === undefined || text === null ? '' : text)
      .replace(/[\s\u00a0₽руб.]+$/gi, '').replace(/[\s\u00a0]/g, '').replace(',', '.');
    if (raw === '') { return null; }
    if (!/^\d+(\.\d{0,2})?$/.test(raw)) { return NaN; }
    var parts = raw.split('.');
    var cents = (parts[1] || '').concat('00').slice(0, 2);
    return Number(parts[0]) * 100 + Number(cents);
  }

  function moneyInput(kopecks) {
    if (kopecks === null || kopecks === undefined) { return ''; }
    var whole = Math.floor(kopecks / 100);
    var cents = kopecks % 100;
    return String(whole) + (cents ? ',' + (cents < 10 ? '0' : '') + cents : '');
  }

  function date(iso) {
    if (!iso) { return '—'; }
    var p = String(iso).slice(0, 10).split('-');
    return p.length === 3 ? p[2] + '.' + p[1] + '.' + p[0] : String(iso);
  }

  function dateTime(iso) {
    if (!iso) { return '—'; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return String(iso); }
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(d.getDate()) + '.' + two(d.getMonth() + 1) + '.' + d.getFullYear() + ' ' +
      two(d.getHours()) + ':' + two(d.getMinutes());
  }

  function pct(text) {
    if (text === null || text === undefined || text === '') { return '—'; }
    return String(text).replace('.', ',') + NBSP + '%';
  }

  /* "12,5" → "12.5"; '' → null; garbage → NaN */
  function parsePct(text) {
    var raw = String(text || '').replace(/[\s%\u00a0]/g, '').replace(',', '.');
    if (raw === '') { return null; }
    if (!/^\d{1,3}(\.\d{1,4})?$/.test(raw) || Number(raw) > 100) { return NaN; }
    return raw;
  }

  /* A policy usually runs one year: the day before the same date next year. */
  function yearAfter(iso) {
    var p = String(iso || '').split('-');
    if (p.length !== 3) { return ''; }
    var d = new Date(Date.UTC(Number(p[0]) + 1, Number(p[1]) - 1, Number(p[2])));
    d.setUTCDate(d.getUTCDate() - 1);
    return d.toISOString().slice(0, 10);
  }

  function daysBetween(fromIso, toIso) {
    var a = Date.parse(String(fromIso).slice(0, 10) + 'T00:00:00Z');
    var b = Date.parse(String(toIso).slice(0, 10) + 'T00:00:00Z');
    return Math.round((b - a) / 86400000);
  }

  return {money: money, parseMoney: parseMoney, moneyInput: moneyInput, date: date,
    dateTime: dateTime, pct: pct, parsePct: parsePct, yearAfter: yearAfter,
    daysBetween: daysBetween, NBSP: NBSP};
}());

AB.debounce = function (fn, ms) {
  var timer = null;
  return function () {
    var args = arguments;
    var ctx = this;
    clearTimeout(timer);
    timer = setTimeout(function () { fn.apply(ctx, args); }, ms);
  };
};

/* Template for {name} placeholders in i18n strings. */
AB.format = function (text, values) {
  return String(text).replace(/\{(\w+)\}/g, function (m, key) {
    return values && values[key] !== undefined && values[key] !== null ? values[key] : m;
  });
};
