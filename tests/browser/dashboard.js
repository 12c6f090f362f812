// dashboard.js - one browser case of it_dashboard.sh: reporting's dashboard page (GET /) in
// headless Chromium driven by playwright-core. Each case acts as a person would, prints what
// the page shows as "info <key> <json>" lines (and "pageerror", "csp" or "console" ones),
// saves a screenshot of each state in SHOTS, and then prints "done". it_dashboard.sh compares
// what was shown with the API's own answers.
//
//   node dashboard.js CASE   with REPORTING (the dashboard's origin), AUTH (a reporting with
//                            READ_TOKENS=TOKEN), DEAD (a reporting whose database is not
//                            there), INGEST, SITE (a site with events), EMPTY_SITE, TOKEN
//                            and SHOTS (a folder)
'use strict';
const {env, main} = require('./run');

const info = (k, v) => console.log(`info ${k} ${JSON.stringify(v)}`);
const shot = (page, name) => page.screenshot({path: `${env('SHOTS')}/dashboard-${name}.png`,
                                              fullPage: true});

// Whether a URL is one of reporting's API calls (not one of the page's files).
const isApi = (url) => /^\/(stats|events)/.test(new URL(url).pathname);

// A new page of a new context (a new browser session) with this viewport. Every console
// error is printed as "console <text> (<url>)", but Chromium's "Failed to load resource" for
// an API call answered with one of the statuses the case expects (`failing`).
async function newPage(browser, {width = 1200, height = 900, failing = []} = {}) {
  const ctx = await browser.newContext({viewport: {width, height}});
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`pageerror ${e.message}`));
  page.on('console', (m) => {
    if (/Content[- ]Security[- ]Policy/i.test(m.text())) console.log(`csp ${m.text()}`);
    if (m.type() !== 'error') return;
    const url = m.location().url || '';
    const status = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
    if (status && failing.includes(Number(status[1])) && url && isApi(url)) return;
    console.log(`console ${m.text()} (${url})`);
  });
  return page;
}

// The page's API calls, as they go: [{path, query, start, end, status}] (times in ms since
// the first one).
function calls(page) {
  const list = [];
  const byRequest = new Map();
  let t0 = null;
  const now = () => Date.now() - (t0 === null ? (t0 = Date.now()) : t0);
  page.on('request', (r) => {
    if (!isApi(r.url())) return;
    const u = new URL(r.url());
    const c = {path: u.pathname, query: u.search, start: now(), end: null, status: null};
    byRequest.set(r, c);
    list.push(c);
  });
  const end = async (r) => {
    const c = byRequest.get(r);
    if (!c) return;
    c.end = now();
    // A call that ends as its case closes the page has no response to read any more.
    const res = await r.response().catch(() => null);
    c.status = res ? res.status() : 0;
  };
  page.on('requestfinished', end);
  page.on('requestfailed', end);
  return list;
}

// The most calls of `list` in flight at one time.
function mostAtOnce(list) {
  const edges = list.flatMap((c) => [[c.start, 1], [c.end === null ? Infinity : c.end, -1]]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (n += d));
  return most;
}

// Record in window.statusSeen each text the status line shows, in order, from the start.
const watchStatus = (page) => page.addInitScript(() => {
  window.statusSeen = [];
  new MutationObserver(() => {
    const e = document.getElementById('status-text');
    const t = e ? e.textContent : '';
    if (t && t !== window.statusSeen[window.statusSeen.length - 1]) window.statusSeen.push(t);
  }).observe(document, {childList: true, subtree: true, characterData: true});
});

// Answer the page's API calls as a reporting shedding load does (routes.c's 503), while
// refuse() says so; the others go to reporting.
const BUSY = {status: 503, headers: {'Content-Type': 'application/json', 'Retry-After': '2'},
              body: '{"status":"error","message":"Too many requests waiting for the database, please retry"}'};
const shed = (page, refuse) => page.route((url) => isApi(url.href),
                                          (route) => (refuse() ? route.fulfill(BUSY) : route.continue()));

// The number of queries the page has answered (data-loads on <body>).
const loads = (page) => page.evaluate(() => Number(document.body.dataset.loads || 0));

// Wait until the page has answered one more query than `before`, and its state is `state`.
async function answered(page, before, state = 'ready') {
  await page.waitForFunction((n) => Number(document.body.dataset.loads || 0) > n, before,
                             {timeout: 30000});
  const [got, words] = await page.evaluate(() => [
    document.body.dataset.state,
    [...document.querySelectorAll('#status-text, #token-form:not([hidden]) p, .msg:not([hidden])')]
      .map((e) => e.textContent).filter((t) => t).join(' | '),
  ]);
  if (got !== state) throw new Error(`the page's state is ${got}, not ${state}; it says: ${words}`);
}

// Open the dashboard at origin with the site and range in its address (as a person's
// bookmark would) and wait for its answer.
async function open(page, origin, site, range, state = 'ready') {
  await page.goto(`${origin}/#site=${encodeURIComponent(site)}&range=${range}`);
  await answered(page, 0, state);
}

// The figures of the first row, in /stats/summary's names (the six, then the smaller one).
const FIGURES = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate',
                 'visit_duration', 'events'];

// What the page shows: the first row (each figure's words and the number it holds, its
// change's arrow, percent, colour and number, whether it is pressed), the chart's points
// (the canvas and the table under it: [time, words, number]) and which figure it draws, the
// tables (entry and exit pages: [page, visits, bounce rate's words, its number]), the
// current visitors, and the range it asked for. views and users are the events' and the
// visitors' figures, as the cards before the first row showed them.
const shown = (page) => page.evaluate((names) => {
  const $ = (id) => document.getElementById(id);
  const text = (e) => (e ? e.textContent.replace(/\s+/g, ' ').trim() : null);
  const rows = (sel) => [...document.querySelectorAll(`${sel} tbody tr`)]
    .map((tr) => [...tr.cells].map((td) => [td.textContent, td.dataset.value]));
  const int = (s) => Number(s.replace(/,/g, ''));
  const hash = new URLSearchParams(location.hash.slice(1));
  const figures = {};
  for (const n of names) {
    const b = $('fig-' + n);
    const c = b.querySelector('.change');
    figures[n] = {
      text: text(b.querySelector('.figure')),
      value: b.querySelector('.figure').dataset.value === ''
        ? null : Number(b.querySelector('.figure').dataset.value),
      arrow: text(c.querySelector('.arrow')), pct: text(c.querySelector('.pct')),
      tone: ['good', 'bad', 'none'].find((k) => c.classList.contains(k)) || null,
      change: c.dataset.change ? Number(c.dataset.change) : null,
      pressed: b.getAttribute('aria-pressed') === 'true',
    };
  }
  const legend = document.querySelectorAll('#chart .u-legend .u-series');
  return {
    from: hash.get('from'), to: hash.get('to'),
    views: figures.events.value, users: figures.visitors.value, figures,
    users_note: $('users-note').hidden ? '' : text($('users-note')),
    retention_note: $('retention-note').hidden ? '' : text($('retention-note')),
    canvas: document.querySelectorAll('#chart canvas').length,
    chart_points: Number($('chart').dataset.points),
    chart_metric: $('chart').dataset.metric || null,
    chart_title: text($('chart-title')),
    chart_legend: legend.length > 1 ? text(legend[1].querySelector('.u-label')) : null,
    chart_msg: $('chart-msg').hidden ? '' : text($('chart-msg')),
    series: rows('#series').map(([[t], [words, v]]) => [t, words, Number(v)]),
    paths: rows('#paths').map(([[p], [v]]) => [p, int(v)]),
    types: rows('#types').map(([[p], [v], [u]]) => [p, int(v), int(u)]),
    entry: rows('#entry').map(([[p], [, v], [b, bv]]) => [p, Number(v), b, Number(bv)]),
    exit: rows('#exit').map(([[p], [, v], [b, bv]]) => [p, Number(v), b, Number(bv)]),
    entry_msg: $('entry-msg').hidden ? '' : text($('entry-msg')),
    exit_msg: $('exit-msg').hidden ? '' : text($('exit-msg')),
    realtime: $('realtime').hidden ? null : Number($('realtime-n').dataset.value),
    interval: $('interval').textContent,
  };
}, FIGURES);

// The UTC day `back` days before today.
const day = (back) => new Date(Date.now() - back * 86400000).toISOString().slice(0, 10);

// Post one event (a page view, or type) of site (SITE) by user to ingest, timed now;
// resolves once ingest answered 202.
async function post(path, {user = 'live-user', site = env('SITE'), type = 'page_view'} = {}) {
  const res = await fetch(`${env('INGEST')}/event`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({site_id: site, event_type: type, path, user_id: user,
                          timestamp: new Date().toISOString()}),
  });
  if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
}

// The API's answer (reporting's JSON) to GET path.
async function apiGet(path) {
  const res = await fetch(env('REPORTING') + path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
  return res.json();
}

// The current visitors the page shows (null: none shown).
const realtimeShown = (page) => page.evaluate(() => (document.getElementById('realtime').hidden
  ? null : Number(document.getElementById('realtime-n').dataset.value)));

// Poll, every 250 ms for at most ms, until ok(await probe()); resolves to the last value
// probed (the caller says whether ok was reached).
async function pollUntil(probe, ok, ms) {
  const deadline = Date.now() + ms;
  let v = await probe();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    v = await probe();
  }
  return v;
}

// The accessible name and pressed state of each figure's button, as Chromium's
// accessibility tree has them (Playwright's aria snapshot): {metric: [name, pressed]}.
async function figureNames(page) {
  const names = {};
  for (const n of FIGURES) {
    const snap = await page.locator('#fig-' + n).ariaSnapshot();
    const m = /^- button "(.*)"( \[pressed\])?/.exec(snap);
    names[n] = m ? [m[1], Boolean(m[2])] : [snap, null];
  }
  return names;
}

const feedHas = (path) => `#feed li .path >> text="${path}"`;

const cases = {
  // Every range of the picker: the figures shown, for it_dashboard.sh to compare with the API.
  async ranges(browser) {
    const page = await newPage(browser);
    const asked = calls(page);
    await open(page, env('REPORTING'), env('SITE'), 'today');
    info('today', await shown(page));
    // What the first load asked for, the live parts' first poll included, and how many at
    // once.
    await page.waitForSelector('#feed li');
    await page.waitForSelector('#realtime:not([hidden])');
    info('first_calls', asked.map((c) => c.path + c.query));
    info('first_at_once', mostAtOnce(asked));
    // The icon browsers ask for on their own: served, and an image.
    info('icon', await page.evaluate(async () => {
      const img = new Image();
      img.src = '/favicon.ico';
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    }));
    await shot(page, 'today');
    for (const [name, value] of [['last7', '7'], ['last30', '30']]) {
      const n = await loads(page);
      await page.selectOption('#range', value);
      await answered(page, n);
      info(name, await shown(page));
      await shot(page, name);
    }
    // Custom: two days (still hourly), then three (daily).
    for (const [name, from, to] of [['custom2', day(1), day(0)], ['custom3', day(2), day(0)]]) {
      await page.selectOption('#range', 'custom');
      await page.fill('#from', from);
      await page.fill('#to', to);
      const n = await loads(page);
      await page.click('#show');
      await answered(page, n);
      info(name, await shown(page));
      await shot(page, name);
    }
    // A custom range that ends before it starts is refused in words, without a request.
    await page.fill('#from', day(0));
    await page.fill('#to', day(1));
    const n = await loads(page);
    await page.click('#show');
    await answered(page, n, 'error');
    info('backwards', await page.textContent('#status-text'));
  },

  // The first row: a click on each figure (and Enter or Space on one, as a keyboard
  // does) draws it on the chart, its button pressed; the figures' accessible names.
  async figures(browser) {
    const page = await newPage(browser);
    await open(page, env('REPORTING'), env('SITE'), 'today');
    info('first', await shown(page));
    info('names', await figureNames(page));
    const asked = calls(page);
    // The default (visitors) last: the chart is drawn again from another figure.
    const order = FIGURES.slice(1).concat(FIGURES[0]);
    for (const [i, name] of order.entries()) {
      const before = asked.filter((c) => c.path === '/stats/timeseries').length;
      if (i === 1) {
        await page.focus('#fig-' + name);
        await page.keyboard.press('Enter');
      } else if (i === 2) {
        await page.focus('#fig-' + name);
        await page.keyboard.press('Space');
      } else {
        await page.click('#fig-' + name);
      }
      await page.waitForSelector(`#chart[data-metric="${name}"]:not([aria-busy])`);
      const after = asked.filter((c) => c.path === '/stats/timeseries');
      info('chart_' + name, Object.assign(await shown(page), {
        asked: after.slice(before).map((c) => c.query),
        pressed: await page.evaluate(() => [...document.querySelectorAll('.fig[aria-pressed="true"]')]
          .map((b) => b.dataset.metric)),
        metric_in_address: new URLSearchParams(
          (await page.evaluate(() => location.hash)).slice(1)).get('metric'),
      }));
      if (name === 'bounce_rate') await shot(page, 'figure-bounce');
    }
    info('at_once', mostAtOnce(asked));
    // Over several days: the visitors' words; the chart keeps the figure picked.
    await page.click('#fig-pageviews');
    await page.waitForSelector('#chart[data-metric="pageviews"]:not([aria-busy])');
    const n = await loads(page);
    await page.selectOption('#range', '7');
    await answered(page, n);
    info('week', await shown(page));
    info('week_names', await figureNames(page));
  },

  // The current visitors of a site of its own (SITE-now, without events: the window of the
  // last 5 minutes holds only this case's): /stats/realtime's, then more without a reload as
  // two visitors come, page views and a click (the page asks every 5 s).
  async realtime(browser) {
    const site = env('SITE') + '-now';
    const page = await newPage(browser);
    await open(page, env('REPORTING'), site, 'today');
    await page.waitForSelector('#realtime:not([hidden])');
    // The page and the API read together until they agree (the page asks every 5 s).
    const pair = async () => [await realtimeShown(page),
                              (await apiGet(`/stats/realtime?site_id=${site}`)).visitors];
    const agree = ([p, a]) => p === a;
    info('realtime_first', await pollUntil(pair, agree, 15000));
    // The same page throughout: a reload would lose this mark, and count one more load.
    await page.evaluate(() => {
      window.keptMark = true;
    });
    const before = await realtimeShown(page);
    await post('/', {user: 'now-user-1', site});
    const posted = Date.now();
    const grown = await pollUntil(() => realtimeShown(page), (v) => v > before, 20000);
    info('realtime_grew', [before, grown, Date.now() - posted]);
    info('realtime_words', (await page.textContent('#realtime')).replace(/\s+/g, ' ').trim());
    await post('/pricing', {user: 'now-user-2', site});
    await post('/pricing', {user: 'now-user-1', site, type: 'click'});
    info('realtime_after', await pollUntil(pair, ([p, a]) => p === a && p > grown, 20000));
    info('realtime_same_page', [await page.evaluate(() => window.keptMark === true),
                                await loads(page)]);
    await shot(page, 'realtime');
  },

  // Visit figures that are not 0 (until the processors count visits, reporting's are): the
  // answers of /stats/summary and /stats/breakdown by entry and exit page, rewritten on
  // their way with visits, ratios, changes and pages, are shown as the page writes them.
  // Prints the answers the page got, for it_dashboard.sh to compare.
  async visitfigures(browser) {
    const page = await newPage(browser);
    const got = {};
    const pages = [{value: '/', visits: 1234, bounce_rate: 50},
                   {value: '/pricing', visits: 3, bounce_rate: 33.333333333333336}];
    await page.route((url) => ['/stats/summary', '/stats/breakdown'].includes(url.pathname),
                     async (route) => {
                       const u = new URL(route.request().url());
                       const res = await route.fetch();
                       const body = await res.json();
                       const by = u.searchParams.get('by');
                       if (u.pathname === '/stats/summary') {
                         Object.assign(body, {visits: 12, views_per_visit: 1.6666666666666667,
                                              bounce_rate: 41.66666666666667,
                                              visit_duration: 3725.25});
                         Object.assign(body.change, {visits: 50, views_per_visit: -10.5,
                                                     bounce_rate: 20, visit_duration: 0.4});
                         got.summary = body;
                       } else if (by === 'entry_page' || by === 'exit_page') {
                         body.values = by === 'entry_page' ? pages : pages.slice(1);
                         got[by] = body;
                       }
                       await route.fulfill({response: res, json: body});
                     });
    await open(page, env('REPORTING'), env('SITE'), 'today');
    info('visitfigures', await shown(page));
    info('answers', got);
    await shot(page, 'visitfigures');
  },

  // A site without events: the empty state, in words.
  async empty(browser) {
    const page = await newPage(browser);
    await open(page, env('REPORTING'), env('EMPTY_SITE'), '7');
    info('cards_msg', await page.textContent('#cards-msg'));
    info('paths_msg', await page.textContent('#paths-msg'));
    await page.waitForSelector('#realtime:not([hidden])');
    info('empty', await shown(page));
    await page.waitForSelector('#feed-msg:not([hidden])');
    info('feed_msg', await page.textContent('#feed-msg'));
    await shot(page, 'empty');
  },

  // A site with a time zone (SITE_TIMEZONES: Pacific/Chatham): shown first in UTC, then, once
  // /stats/realtime has named its zone, again in its own days and hours; after a reload, in
  // its zone at once (the tab keeps it).
  async zone(browser) {
    const page = await newPage(browser);
    const seen = () => page.evaluate(() => ({
      label: document.getElementById('range-label').textContent,
      interval: document.getElementById('interval').textContent,
      time_head: document.getElementById('series-time').textContent,
      from: new URLSearchParams(location.hash.slice(1)).get('from'),
      points: Number(document.getElementById('chart').dataset.points),
      first_hour: (document.querySelector('#series tbody tr td') || {}).textContent,
      loads: Number(document.body.dataset.loads || 0),
    }));
    // Every words the range label shows, in order, from the page's first load on.
    await page.addInitScript(() => {
      window.rangeLabels = [];
      document.addEventListener('DOMContentLoaded', () => {
        const el = document.getElementById('range-label');
        new MutationObserver(() => {
          if (window.rangeLabels[window.rangeLabels.length - 1] !== el.textContent) {
            window.rangeLabels.push(el.textContent);
          }
        }).observe(el, {childList: true, characterData: true, subtree: true});
      });
    });
    // (Not open(): the first load's answer starts the second, in the site's zone, at once.)
    await page.goto(`${env('REPORTING')}/#site=${encodeURIComponent(env('ZONE_SITE'))}&range=today`);
    await answered(page, 1);
    info('zone', await seen());
    info('zone_labels', await page.evaluate(() => window.rangeLabels));
    await page.reload();
    await answered(page, 0);
    await page.waitForSelector('#realtime:not([hidden])');
    info('zone_reload', await seen());
  },

  // A range without the site's events: the page offers the day of its latest event, and
  // shows that day when asked.
  async latest(browser) {
    const page = await newPage(browser);
    await page.goto(`${env('REPORTING')}/#site=${encodeURIComponent(env('SITE'))}` +
                    '&range=custom&from=2020-01-01&to=2020-01-02');
    await answered(page, 0);
    await page.waitForSelector('#show-latest');
    info('offer', await page.textContent('#cards-msg'));
    await shot(page, 'latest-offer');
    const n = await loads(page);
    await page.click('#show-latest');
    await answered(page, n);
    info('latest', await shown(page));
    info('offer_after', await page.isHidden('#cards-msg'));
    await shot(page, 'latest');
  },

  // The live feed: an event posted now is shown within 6 s, newest first; paused, the feed
  // and the current visitors ask nothing and the feed shows nothing new; resumed, it does
  // again.
  async live(browser) {
    const page = await newPage(browser);
    await open(page, env('REPORTING'), env('SITE'), 'today');
    await page.waitForSelector('#feed li');
    const path = `/live/${Date.now()}`;
    await post(path);
    const posted = Date.now();
    await page.waitForSelector(feedHas(path), {timeout: 15000});
    info('live_ms', Date.now() - posted);
    info('live_first', await page.textContent('#feed li:first-child .path'));
    await shot(page, 'live');

    await page.click('#pause');
    info('pause_label', await page.textContent('#pause'));
    let asked = 0;
    page.on('request', (r) => {
      if (['/events', '/stats/realtime'].includes(new URL(r.url()).pathname)) asked++;
    });
    const pausedPath = `/paused/${Date.now()}`;
    await post(pausedPath);
    // The measurement itself: longer than the 5 s refresh, and nothing may happen in it.
    await page.waitForTimeout(7000);
    info('paused_requests', asked);
    info('paused_shown', await page.locator(feedHas(pausedPath)).count());
    await shot(page, 'paused');
    const resumed = Date.now();
    await page.click('#pause');
    await page.waitForSelector(feedHas(pausedPath), {timeout: 15000});
    info('resumed_ms', Date.now() - resumed);
  },

  // READ_TOKENS: the page's files load without a token; the page asks for one, says so when
  // it is refused, then shows the data with it, sending it as a bearer token and keeping it
  // for the session only.
  async token(browser) {
    const page = await newPage(browser, {failing: [401, 403]});
    const auths = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/stats')) auths.push(r.headers().authorization || '');
    });
    await open(page, env('AUTH'), env('SITE'), '7', 'token');
    info('asked', await page.isVisible('#token-form'));
    info('asked_why', await page.textContent('#token-why'));
    await shot(page, 'token');
    let n = await loads(page);
    await page.fill('#token', 'not-the-token');
    await page.click('#token-form button');
    await answered(page, n, 'token');
    info('wrong_why', await page.textContent('#token-why'));
    n = await loads(page);
    await page.fill('#token', env('TOKEN'));
    await page.click('#token-form button');
    await answered(page, n);
    info('with_token', await shown(page));
    info('sent', auths[auths.length - 1]);
    info('kept', await page.evaluate(() => Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k))));
    info('kept_local', await page.evaluate(() => localStorage.length));
    await shot(page, 'token-data');
    // A site the token does not cover: the API's 403, in words.
    n = await loads(page);
    await page.fill('#site', env('EMPTY_SITE'));
    await page.click('#show');
    await answered(page, n, 'error');
    info('other_site', await page.textContent('#status-text'));
    // A new browser session asks again.
    const again = await newPage(browser, {failing: [401]});
    await open(again, env('AUTH'), env('SITE'), '7', 'token');
    info('asked_again', await again.isVisible('#token-form'));
  },

  // Reporting without its database: the reason, in words, and a way to retry.
  async dberror(browser) {
    const page = await newPage(browser, {failing: [503]});
    await open(page, env('DEAD'), env('SITE'), '7', 'error');
    info('status', await page.textContent('#status-text'));
    info('retry', await page.isVisible('#status button'));
    await shot(page, 'dberror');
  },

  // Reporting sheds load: its first 3 answers are 503 Too many requests with Retry-After: 2.
  // The page says it is busy, asks again after 2, 2 and 4 s (the wait asked for, or its own
  // backoff of 1, 2, 4 s if longer), one call at a time, and shows the figures without a click.
  async busy(browser) {
    const page = await newPage(browser, {failing: [503]});
    const asked = calls(page);
    let refused = 0;
    await shed(page, () => refused++ < 3);
    await watchStatus(page);
    await open(page, env('REPORTING'), env('SITE'), '7');
    info('seen', await page.evaluate(() => window.statusSeen));
    info('busy', await shown(page));
    await page.waitForSelector('#feed li');
    // The current visitors' call too has its answer (it follows the feed's).
    await page.waitForSelector('#realtime:not([hidden])');
    await pollUntil(async () => asked[asked.length - 1].status, (st) => st !== null, 5000);
    info('calls', asked);
    info('at_once', mostAtOnce(asked));
    await shot(page, 'busy');
  },

  // Reporting stays busy: after 3 retries the page stops asking and says so, with a Retry
  // button; once reporting answers again, Retry shows the figures.
  async overloaded(browser) {
    const page = await newPage(browser, {failing: [503]});
    const asked = calls(page);
    let busy = true;
    await shed(page, () => busy);
    await open(page, env('REPORTING'), env('SITE'), '7', 'error');
    info('status', await page.textContent('#status-text'));
    info('retry', await page.isVisible('#status button'));
    info('calls', asked.length);
    await shot(page, 'overloaded');
    busy = false;
    const n = await loads(page);
    await page.click('#status button');
    await answered(page, n);
    info('after_retry', await shown(page));
  },

  // At phone width (375 px), nothing scrolls sideways and no figure is cut off.
  async phone(browser) {
    const page = await newPage(browser, {width: 375, height: 740});
    await open(page, env('REPORTING'), env('SITE'), '30');
    await page.waitForSelector('#feed li');
    info('widths', await page.evaluate(() => [document.documentElement.scrollWidth,
                                               document.documentElement.clientWidth]));
    // Nothing of the first row cut off: each figure's button is as wide as its words.
    info('clipped', await page.evaluate(() => [...document.querySelectorAll('.fig')]
      .filter((b) => b.scrollWidth > b.clientWidth).map((b) => b.id)));
    info('phone', await shown(page));
    await shot(page, 'phone');
  },
};

main(cases);
