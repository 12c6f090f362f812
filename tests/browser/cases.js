// cases.js - one browser case of it_browser.sh, in headless Chromium driven by playwright-core:
// opens the test page (server.js) that loads the tracker from ingest, acts on it as a visitor
// would, closes the page, prints "info <key> <value>" lines (and "pageerror" ones) and then
// "done". The browser
// stays open (a beacon sent as a page closes still goes out) until SIGTERM.
//
//   node cases.js CASE   with PAGES, INGEST, REFUSING, PROXY, PROXY429, PROXY5XX: the origins
//                        of the page server, of ingest, of an ingest whose CORS_ORIGINS
//                        omits PAGES, of the proxy that answers 503 once, of the one that
//                        answers 429 with Retry-After: 3 once, and of the one that answers
//                        502, 504 and 408 before letting batches through
'use strict';
const {env, main} = require('./run');

const info = (k, v) => console.log(`info ${k} ${v}`);

// A page of site `site` loading the tracker from `tracker`, at /page/<path>.
const pageUrl = (path, site, tracker, extra = '') =>
  `${env('PAGES')}/page/${path}?site=${site}&tracker=${encodeURIComponent(tracker)}${extra}`;

// Open url in a new page of ctx, once the tracker has started on it. An exception on the
// page is printed as "pageerror <message>".
async function open(ctx, url) {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`pageerror ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.analytics);
  return page;
}

// Whether a request or response is a batch's (POST /events).
const isBatch = (r) => new URL(r.url()).pathname === '/events';

// Wait until a batch of the page is answered 202.
const accepted = (page) => page.waitForResponse((r) => isBatch(r) && r.status() === 202, {timeout: 30000});

// Open page /page/<path> of site `site` with its tracker loaded through the proxy at origin
// `proxy`, track event `type`, wait until a batch is accepted and print the statuses of
// the batches the page saw ("statuses 503,202").
async function throughProxy(browser, proxy, path, site, type) {
  const ctx = await browser.newContext();
  const statuses = [];
  ctx.on('response', (r) => {
    if (isBatch(r)) statuses.push(r.status());
  });
  const page = await open(ctx, pageUrl(path, site, proxy));
  await page.evaluate((t) => analytics.track(t), type);
  await accepted(page);
  info('statuses', statuses.join(','));
  await page.close({runBeforeUnload: true});
}

// Requests to a /events URL made by the pages of ctx (fetches and beacons).
function countBatches(ctx) {
  const seen = {n: 0};
  ctx.on('request', (r) => {
    if (isBatch(r)) seen.n++;
  });
  return seen;
}

const cases = {
  // Cookieless by default: three visitors (contexts, each with its own User-Agent), no
  // data-storage: nothing of ours in localStorage, sessionStorage or cookies of the page's
  // origin. Then data-storage="local": the id made once is kept in a new context that
  // starts with the first one's storage.
  async cookieless(browser) {
    for (const k of [1, 2, 3]) {
      const ctx = await browser.newContext({userAgent: `CookielessTest/${k}.0 (visitor-${k})`});
      const page = await open(ctx, pageUrl('cookieless', 'site-cookieless', env('INGEST')));
      await page.evaluate(() => analytics.track('visit'));
      const kept = await page.evaluate(() => ({local: localStorage.length,
        session: sessionStorage.length, cookie: document.cookie}));
      kept.cookies = (await ctx.cookies()).length;
      info(`kept_${k}`, JSON.stringify(kept));
      await page.close({runBeforeUnload: true});
    }
    const url = pageUrl('stored', 'site-stored', env('INGEST'), '&storage=local');
    const ctx = await browser.newContext({userAgent: 'CookielessTest/local-1'});
    const page = await open(ctx, url);
    info('stored_1', await page.evaluate(() => localStorage.getItem('analytics_uid')));
    const state = await ctx.storageState();
    await page.close({runBeforeUnload: true});
    const ctx2 = await browser.newContext({userAgent: 'CookielessTest/local-2', storageState: state});
    const page2 = await open(ctx2, url);
    info('stored_2', await page2.evaluate(() => localStorage.getItem('analytics_uid')));
    await page2.close({runBeforeUnload: true});
  },

  // Everything the tracker collects by default (a campaign's utm_* in the landing URL, the
  // screen's width: 800 CSS pixels, a tablet's, in a wider window), and data-capture="form".
  async collect(browser) {
    const ctx = await browser.newContext({viewport: {width: 1000, height: 800},
      screen: {width: 800, height: 1280}});
    const url = pageUrl('home', 'site-abc-123', env('INGEST'),
      '&capture=form&tall=1&utm_source=news&utm_medium=email&utm_campaign=spring&utm_id=7');
    const page = await open(ctx, url);
    await page.click('#signup span');
    await page.evaluate(() => document.dispatchEvent(new MouseEvent('click'))); // not counted
    await page.check('#agree');
    await page.click('#note');
    await page.fill('#email', 'secret-typed-value');
    await page.locator('#email').blur();
    await page.evaluate(() => analytics.track('signup_completed', {plan: 'pro', seats: 3}));
    await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight));
    await page.evaluate(() => history.pushState({}, '', '/page/pricing'));
    info('kept', await page.evaluate(() => localStorage.length + sessionStorage.length));
    info('url', url);
    await page.close({runBeforeUnload: true});
  },

  // data-capture="form, mousemove": mouse moves at most one a second, as shares of the window.
  async mousemove(browser) {
    const ctx = await browser.newContext({viewport: {width: 1000, height: 800}});
    const page = await open(ctx, pageUrl('move', 'site-mouse', env('INGEST'), '&capture=form,%20mousemove'));
    await page.mouse.move(250, 200);
    const first = await page.evaluate(() => Date.now());
    await page.mouse.move(300, 300);
    await page.mouse.move(400, 400);
    // A second later, by the page's own clock (the throttle's), one more move counts.
    await page.waitForFunction((t) => Date.now() - t >= 1000, first);
    await page.mouse.move(500, 600);
    await page.close({runBeforeUnload: true});
  },

  // Events tracked just before the page closes leave by beacon.
  async beacon(browser) {
    const ctx = await browser.newContext();
    const seen = countBatches(ctx);
    const page = await open(ctx, pageUrl('beacon', 'site-beacon', env('INGEST')));
    await page.evaluate(() => ['one', 'two', 'three'].forEach((k) => analytics.track('last_' + k)));
    info('batches_before_close', seen.n);
    await page.close({runBeforeUnload: true});
  },

  // A 429's Retry-After (3 s) is waited, rather than the 1 s of the first backoff.
  async ratelimited(browser) {
    const ctx = await browser.newContext();
    const sent = [];
    ctx.on('request', (r) => {
      if (isBatch(r)) sent.push(Date.now());
    });
    const page = await open(ctx, pageUrl('limited', 'site-limited', env('PROXY429')));
    await accepted(page);
    info('retry_after_ms', sent[1] - sent[0]);
    await page.close({runBeforeUnload: true});
  },

  // A batch over the 64 KiB that keepalive allows still goes (as a plain fetch).
  async large(browser) {
    const ctx = await browser.newContext();
    const page = await open(ctx, pageUrl('large', 'site-large', env('INGEST')));
    await page.evaluate(() => analytics.track('large', {blob: 'x'.repeat(70000)}));
    await accepted(page);
    await page.close({runBeforeUnload: true});
  },

  // The proxy answers the first batch 503: the tracker sends it again, same event ids.
  retry: (browser) => throughProxy(browser, env('PROXY'), 'retry', 'site-retry', 'retry_me'),

  // A proxy in front of ingest answers 502, 504 and 408 (a deploy, a proxy's timeout): the
  // tracker sends the batch again each time, same event ids, until it is taken.
  proxyerrors: (browser) => throughProxy(browser, env('PROXY5XX'), 'proxied', 'site-proxied',
                                         'through_proxy'),

  // What is chosen or typed never leaves the page: options of a list box and of a multiple
  // select (one inside a [data-analytics] element), text typed in an editable element inside
  // one, clicks on those wrappers' padding, a script's text; and no URL sent carries a query
  // or a fragment: the referrer of a page reached from one with both, and of a pushState
  // from one with both.
  async private(browser) {
    const ctx = await browser.newContext();
    const from = pageUrl('from', 'site-private', env('INGEST'), '&ref=secret-ref-query#secret-ref-fragment');
    const page = await open(ctx, from);
    const to = pageUrl('private', 'site-private', env('INGEST'),
                       '&private=1&t=secret-page-query#secret-page-fragment');
    await page.evaluate((u) => setTimeout(() => {
      location.href = u;
    }), to);
    await page.waitForURL(to);
    await page.waitForFunction(() => window.analytics);
    await page.click('#card option:nth-child(2)');
    await page.click('#extras option:nth-child(1)');
    await page.click('#pay', {position: {x: 5, y: 5}});
    await page.click('#editor');
    await page.keyboard.type('secret-typed-note');
    await page.click('#editor');
    await page.click('#notes', {position: {x: 5, y: 5}});
    await page.click('#widget');
    info('chosen', await page.evaluate(() => [...document.querySelectorAll('option:checked')]
      .map((o) => o.textContent).join(',')));
    info('typed', await page.textContent('#editor'));
    await page.evaluate(() => history.pushState({}, '', '/page/private-next'));
    info('origin', new URL(to).origin);
    await page.close({runBeforeUnload: true});
  },

  // The tracker loaded from an ingest that does not allow this page's origin.
  async refused(browser) {
    const ctx = await browser.newContext();
    const page = await open(ctx, pageUrl('refused', 'site-cors', env('REFUSING')));
    await page.evaluate(() => analytics.track('refused_event'));
    await page.close({runBeforeUnload: true});
  },

  // A visitor whose clock is a day ahead.
  async skew(browser) {
    const ctx = await browser.newContext();
    await ctx.addInitScript(() => {
      const Real = Date, ahead = 86400000;
      class Ahead extends Real {
        constructor(...a) {
          super(...(a.length ? a : [Real.now() + ahead]));
        }
        static now() {
          return Real.now() + ahead;
        }
      }
      window.Date = Ahead;
    });
    const page = await open(ctx, pageUrl('skew', 'site-skew', env('INGEST')));
    info('page_clock', await page.evaluate(() => new Date().toISOString()));
    await page.evaluate(() => analytics.track('skewed'));
    await page.close({runBeforeUnload: true});
  },

  // data-respect-dnt with Do Not Track, then with Global Privacy Control: nothing leaves.
  // Then a page without data-respect-dnt, with Do Not Track on: it sends, and once its
  // events are stored anything the first two had sent would be too.
  async dnt(browser) {
    const optOut = [['site-dnt', 'doNotTrack', '1'], ['site-gpc', 'globalPrivacyControl', true]];
    for (const [site, prop, value] of optOut) {
      const ctx = await browser.newContext();
      await ctx.addInitScript(([p, v]) => Object.defineProperty(Navigator.prototype, p, {get: () => v}),
                              [prop, value]);
      const seen = countBatches(ctx);
      const page = await open(ctx, pageUrl('private', site, env('INGEST'), '&dnt=1'));
      await page.click('#signup');
      await page.evaluate(() => analytics.track('private_event'));
      await page.close({runBeforeUnload: true});
      info(`batches_${site}`, seen.n);
    }
    const ctx = await browser.newContext();
    await ctx.addInitScript(() => Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'}));
    const page = await open(ctx, pageUrl('control', 'site-dnt-control', env('INGEST')));
    await page.evaluate(() => analytics.track('control_event'));
    await page.close({runBeforeUnload: true});
  },
};

main(cases, {keepOpen: true});
