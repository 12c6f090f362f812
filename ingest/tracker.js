// tracker.js - the browser side: captures page views, clicks, scroll depth and custom
// events (and, opted in, mouse moves and form use) and sends them in batches to the
// ingest it was loaded from. Served by ingest at /tracker.js (README: The tracker).
// Plain JavaScript (ES2017), no dependencies; the Makefile minifies it with esbuild.
((w, d, n) => {
  var s = d.currentScript, L = location, uid, q = [], busy, timer, delay = 0, no; // no: undefined
  // URLs leave as scheme, host and path only: a query or fragment can hold anything (a
  // token, an e-mail address). document.referrer has no user info or fragment (HTML).
  var depth = 0, told, last, ref = d.referrer.replace(/[?#].*/, ''), moved = 0, st;
  if (!s || w.analytics) return;
  var A = (k) => s.getAttribute('data-' + k);
  var site = A('site-id'), url = new URL('/events', s.src); // fetch and sendBeacon take a URL
  var cap = A('capture'); // a list: "form, mousemove" (null: no match)
  var off = !site || (A('respect-dnt') != null && (n.doNotTrack == '1' || n.globalPrivacyControl));
  // A batch's body goes as text/plain (a CORS-safelisted type: no preflight), by fetch or beacon.
  var blob = (v) => new Blob([v], {type: 'text/plain'}), now = () => new Date().toISOString();
  var bytes = (v) => blob(v).size, KEY = 'analytics_uid', FIELD = 'input,textarea,select';
  var share = (a, b) => Math.round(a / b * 1e3) / 1e3;
  // 128 random bits as [a-z0-9], at most 28 characters: event ids, the anonymous user id.
  var rnd = () => crypto.getRandomValues(new Uint32Array(4)).reduce((r, x) => r + x.toString(36), '');
  // Nothing is stored on the device unless data-storage="local": then a random anonymous id
  // is made once, kept in localStorage and sent as the device's (user_id_source). An id the
  // site gives (data-user-id, identify()) is the page's only, never stored. Without either,
  // ingest derives a visitor of the day (docs/privacy.md).
  var dev, id = (v) => {
    v = String(v);
    if (v && bytes(v) < 257) uid = v, dev = no;
  };
  try {
    if (A('storage') == 'local') localStorage.setItem(KEY, dev = uid = localStorage.getItem(KEY) || rnd());
  } catch (e) {}
  id(A('user-id') || ''); // none: no id
  // Each event is kept as its JSON text with its event_id: a retry sends the same ids.
  var track = (t, p, path) => {
    t = String(t);
    if (off || !t || bytes(t) > 64) return;
    try {
      q.push(JSON.stringify({
        site_id: site, event_type: t, timestamp: now(),
        path: path || L.pathname, user_id: uid, user_id_source: dev && 'device',
        // screen_width: the screen in CSS pixels, its device class at ingest (docs/api.md).
        event_id: rnd(), properties: Object.assign({}, p), screen_width: screen.width
      }));
    } catch (e) {}
    if (q.length > 1000) q.shift();
    if (q.length >= 20 && !delay) flush();
    else if (!timer) later(2000);
  };
  var later = (ms) => {
    clearTimeout(timer);
    timer = setTimeout(flush, ms);
  };
  var body = (b) => '{"sent_at":"' + now() + '","events":[' + b.join() + ']}';
  // One fetch at a time, 20 events at most; any 5xx, 408, 429 and network errors (an
  // ingress during a deploy, a proxy's timeout) are retried after 1, 2, 4 ... 60 s, or
  // Retry-After if longer; any other answer ends the batch: a 2xx, or a 4xx that a
  // retry would not change.
  var flush = () => {
    timer = 0;
    if (busy || !q.length) return;
    var b = q.slice(0, 20), x = body(b);
    busy = 1;
    // keepalive lets the request outlive the page, but only for bodies under 64 KiB in all.
    fetch(url, {method: 'POST', body: blob(x), keepalive: bytes(x) < 6e4})
      .then((r) => {
        if (/^(5|408|429)/.test(r.status)) throw r.headers.get('Retry-After') * 1e3; // 5xx, 408, 429
        q = q.filter((e) => b.indexOf(e) < 0);
        delay = busy = 0;
        if (q.length) later(q.length < 20 ? 2000 : 0);
      })
      .catch((a) => {
        busy = 0;
        delay = Math.min(delay * 2 || 1000, 60000);
        later(Math.max(delay, +a || 0));
      });
  };
  // The deepest point of the page seen so far, in percent of its height.
  var measure = () => depth = Math.max(depth,
    Math.min(100, Math.round((scrollY + innerHeight) / d.documentElement.scrollHeight * 100)) || 0);
  var tellDepth = () => {
    measure();
    if (!told && depth) track('scroll', {depth: depth}, last);
    told = 1;
  };
  // A page view: its referrer, and its URL's campaign (utm_*: those five only, 85 characters
  // each at most, 255 bytes of UTF-8), the query's only members to leave the page.
  var view = (p) => {
    last = L.pathname;
    p = {referrer: ref};
    for (var [k, v] of new URLSearchParams(L.search))
      if (/^utm_(source|medium|campaign|term|content)$/.test(k)) p[k] = v.slice(0, 85);
    track('page_view', p);
  };
  // A single-page app's navigation: a page view when the path changes, referred by the
  // previous page view's URL (pushState keeps the origin).
  var nav = () => {
    if (L.pathname != last) {
      tellDepth();
      depth = told = 0;
      ref = L.origin + last;
      view();
    }
  };
  // The page is hidden or left: what is queued goes by beacon (text/plain, no preflight), 20
  // at a time, each batch dropped from the queue once the browser has taken it.
  var leave = () => {
    for (tellDepth(); q.length && n.sendBeacon(url, blob(body(q.slice(0, 20))));) q.splice(0, 20);
  };
  var on = (o, t, f, c) => o.addEventListener(t, f, {passive: true, capture: c});
  w.analytics = {track: track, identify: id};
  if (off) return;
  ['pushState', 'replaceState'].forEach((k) => {
    var o = history[k];
    history[k] = function (...a) {
      a = o.apply(this, a);
      nav();
      return a;
    };
  });
  on(w, 'popstate', nav);
  on(w, 'pagehide', leave);
  on(d, 'visibilitychange', () => d.hidden && leave());
  on(w, 'scroll', () => st = st || setTimeout(() => {
    st = 0;
    measure();
  }, 250));
  // A click: the element (or its nearest link, button or data-analytics ancestor; an option
  // stands for its select), and a short label of its text. Never what was typed or chosen:
  // no label for a click on a form control or in editable content, nor from an element
  // holding one (or a script or style). textContent, cut before the squeeze: no layout.
  on(d, 'click', (e) => {
    var t = e.target, f, x;
    if (!t.closest) return; // not an element: a click dispatched on the document itself
    f = t.closest(FIELD);
    x = f || t.isContentEditable;
    t = (f || t).closest('a,button,[data-analytics]') || f || t;
    x = x ? '' : t.ariaLabel ||
      (t.querySelector(FIELD + ',[contenteditable],script,style') ? '' : t.textContent.slice(0, 999));
    track('click', {
      tag: t.localName, id: t.id || no, analytics: t.dataset.analytics,
      text: x.replace(/\s+/g, ' ').trim().slice(0, 64) || no
    });
  });
  if (/\bmousemove\b/.test(cap))
    on(d, 'mousemove', (e) => {
      var t = Date.now();
      if (t - moved >= 1000) {
        moved = t;
        track('mousemove', {x: share(e.clientX, innerWidth), y: share(e.clientY, innerHeight)});
      }
    });
  // Form use: blur of a text field, change of a checkbox, radio or select; never the value.
  if (/\bform\b/.test(cap))
    ['blur', 'change'].forEach((k) => {
      on(d, k, (e) => {
        var t = e.target, y = t.type || '';
        if (t.matches && t.matches(FIELD) && !/^(submit|button|reset|image|hidden)$/.test(y) &&
            (k == 'change') == /^(checkbox|radio|select)/.test(y))
          track('form', {action: k, name: t.name || t.id || no, type: y});
      }, 1);
    });
  view();
  measure();
})(window, document, navigator);
