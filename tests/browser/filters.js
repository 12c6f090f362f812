// filters.js - the browser cases of it_dashboard_filters.sh: visitors on four devices
// (tests/browser/server.js's pages with the tracker), then the dashboard's sources, devices
// and countries panels and its filters. Prints "info <key> <json>" lines (and "pageerror",
// "csp" or "console" ones) and then "done"; it_dashboard_filters.sh compares what was shown
// with the API's own answers.
//
//   node filters.js visits      with PAGES, OTHER (two origins of server.js pages), INGEST
//                               and SITE: four browser contexts, each its own User-Agent,
//                               screen and viewport, land on SITE's pages, with a campaign
//                               or a referrer
//   node filters.js dashboard   with REPORTING, SITE and SHOTS (a folder): each panel's tabs,
//                               then the funnel's steps picked (one step alone first), a
//                               click on a goal, a click on a row, a reload, the back
//                               button, the chip's operator turned to "is not" and back,
//                               the filter's chip removed, and a bad funnel step
'use strict';
const {env, main} = require('./run');

const info = (k, v) => console.log(`info ${k} ${JSON.stringify(v)}`);

// The visitors: real User-Agents of a phone, a tablet and two desktop browsers, each with a
// screen of its kind (the tracker sends screen.width), the ingest it sends to (a proxy that
// adds an address the country database places as X-Forwarded-For, ingest having
// TRUST_PROXY=1; or ingest itself: loopback, no country), and how it comes: a landing page
// with a campaign, a link followed from a page of another origin, or Google as the referrer;
// some then go on to another page (a single-page app's navigation: every event leaves while
// the page is open, with its User-Agent, which a browser's beacon after a navigation has not).
const VISITORS = [
  {name: 'phone', screen: {width: 390, height: 844}, viewport: {width: 390, height: 664},
   ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 ' +
       '(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
   ingest: 'INGEST_DE', land: '/page/home?utm_source=newsletter&utm_medium=email&utm_campaign=spring',
   next: '/page/pricing'},
  {name: 'tablet', screen: {width: 800, height: 1280}, viewport: {width: 800, height: 1100},
   ua: 'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) ' +
       'Chrome/120.0.0.0 Safari/537.36',
   ingest: 'INGEST_JP', land: '/page/home', from: 'OTHER'},
  {name: 'firefox', screen: {width: 1920, height: 1080}, viewport: {width: 1400, height: 900},
   ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
   ingest: 'INGEST_DE', land: '/page/pricing', referer: 'https://www.google.com/',
   next: '/page/docs'},
  {name: 'safari', screen: {width: 1440, height: 900}, viewport: {width: 1280, height: 800},
   ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 ' +
       '(KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
   ingest: 'INGEST', land: '/page/home?utm_source=google&utm_medium=cpc&utm_campaign=brand'},
];

// The URL of page path of SITE on origin, with the tracker from ingest.
function pageUrl(origin, path, ingest) {
  const u = new URL(origin + path);
  u.searchParams.set('site', env('SITE'));
  u.searchParams.set('tracker', ingest);
  return u.href;
}

// Resolves when the tracker's next batch to ingest has been answered.
const sent = (page, ingest) => page.waitForResponse(
  (r) => r.url() === ingest + '/events' && r.request().method() === 'POST', {timeout: 15000});

// What the dashboard shows: the figures of the first row, the chips, the address's filters,
// and the rows of each table ([value, the numbers of its cells...]) with the panels' tabs.
const shown = (page) => page.evaluate(() => {
  const $ = (id) => document.getElementById(id);
  const rows = (id) => [...document.querySelectorAll(`#${id} tbody tr`)].map((tr) => {
    const [first, ...rest] = [...tr.cells];
    const b = first.querySelector('button');
    return [b ? b.dataset.value : first.textContent,
            ...rest.map((td) => (td.dataset.value === undefined
              ? Number(td.textContent.replace(/,/g, ''))
              : td.dataset.value === '' ? null : Number(td.dataset.value)))];
  });
  const figures = {};
  for (const b of document.querySelectorAll('.fig')) {
    const v = b.querySelector('.figure').dataset.value;
    figures[b.dataset.metric] = v === '' ? null : Number(v);
  }
  const tables = {};
  for (const id of ['sources', 'devices', 'countries', 'paths', 'types', 'entry', 'exit',
                    'goals', 'funnel']) {
    tables[id] = rows(id);
  }
  return {
    figures, tables,
    tabs: {sources: $('sources').dataset.by, devices: $('devices').dataset.by},
    chips: $('filters').hidden ? [] : [...document.querySelectorAll('#filters .chip')]
      .map((c) => [c.dataset.filter, c.firstChild.textContent]),
    address: new URLSearchParams(location.hash.slice(1)).getAll('filter'),
    from: new URLSearchParams(location.hash.slice(1)).get('from'),
    country_words: [...document.querySelectorAll('#countries tbody tr td:first-child')]
      .map((td) => td.textContent),
    credit: document.querySelector('footer.credit').textContent.replace(/\s+/g, ' ').trim(),
    feed: [...document.querySelectorAll('#feed li')].map((li) => li.dataset.id),
    feed_filters: $('feed').dataset.filters,
    feed_words: $('feed-filtered').hidden ? '' : $('feed-filtered').textContent,
    realtime: [Number($('realtime-n').dataset.value), $('realtime').dataset.filters],
    goals_msg: $('goals-msg').hidden ? '' : $('goals-msg').textContent,
    funnel_steps: $('funnel').dataset.steps,
    funnel_msg: $('funnel-msg').hidden ? '' : $('funnel-msg').textContent,
    funnel_address: new URLSearchParams(location.hash.slice(1)).get('funnel'),
    funnel_rows: [...document.querySelectorAll('#funnel-steps li')].map((li) =>
      [li.querySelector('select').value, li.querySelector('input').value,
       !li.querySelector('.remove').hidden]),
    offered: {pages: [...$('funnel-pages').options].map((o) => o.value),
              goals: [...$('funnel-goals').options].map((o) => o.value)},
  };
});

// Pick the funnel's steps ([[kind, value]...]): rows added or removed to their number, each
// kind chosen and value typed.
async function pickSteps(page, steps) {
  while (await page.locator('#funnel-steps li').count() < steps.length) {
    await page.click('#funnel-add');
  }
  while (await page.locator('#funnel-steps li').count() > Math.max(steps.length, 2)) {
    await page.click('#funnel-steps li:last-child .remove');
  }
  for (const [i, [kind, value]] of steps.entries()) {
    const li = `#funnel-steps li:nth-child(${i + 1})`;
    await page.selectOption(`${li} select`, kind);
    await page.fill(`${li} input`, value);
  }
}

const loads = (page) => page.evaluate(() => Number(document.body.dataset.loads || 0));

async function answered(page, before) {
  await page.waitForFunction((n) => Number(document.body.dataset.loads || 0) > n, before,
                             {timeout: 30000});
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state !== 'ready') {
    const words = await page.evaluate(() => [...document.querySelectorAll('#status-text, .msg:not([hidden])')]
      .map((e) => e.textContent).join(' | '));
    throw new Error(`the page's state is ${state}: ${words}`);
  }
}

// Click selector, then wait for the query it starts to be answered.
async function clickLoad(page, selector) {
  const n = await loads(page);
  await page.click(selector);
  await answered(page, n);
}

// Every tab of each panel (the first again last, as a load shows it): its rows.
async function everyTab(page, key) {
  const all = {};
  for (const [panel, list] of [['sources', ['channel', 'utm_campaign', 'utm_source', 'utm_medium', 'source']],
                               ['devices', ['browser', 'os', 'device']]]) {
    for (const by of list) {
      await page.click(`[data-panel="${panel}"] [role="tab"][data-by="${by}"]`);
      await page.waitForSelector(`#${panel}[data-by="${by}"]:not([aria-busy])`);
      all[by] = (await shown(page)).tables[panel];
    }
  }
  info(key, all);
}

const cases = {
  // The four visitors, at once.
  async visits(browser) {
    await Promise.all(VISITORS.map(async (v) => {
      const mobile = v.name === 'phone' || v.name === 'tablet';
      const ctx = await browser.newContext({userAgent: v.ua, screen: v.screen, viewport: v.viewport,
                                            isMobile: mobile, hasTouch: mobile});
      const page = await ctx.newPage();
      page.on('pageerror', (e) => console.log(`pageerror ${v.name} ${e.message}`));
      const ingest = env(v.ingest);
      const url = pageUrl(env('PAGES'), v.land, ingest);
      let batch = sent(page, ingest);
      if (v.from) {
        // A link followed from a page of another origin: the landing page's referrer.
        await page.goto(`${env(v.from)}/page/elsewhere`);
        await Promise.all([page.waitForURL(url), page.evaluate((u) => {
          location.href = u;
        }, url)]);
      } else {
        await page.goto(url, v.referer ? {referer: v.referer} : {});
      }
      await batch;
      info(`referrer_${v.name}`, await page.evaluate(() => document.referrer));
      if (v.next) {
        batch = sent(page, ingest);
        await page.click('#signup');
        // A goal: the custom event signup (the tracker's analytics.track), for the goals and
        // funnel panels.
        await page.evaluate(() => analytics.track('signup', {plan: 'pro'}));
        await page.evaluate((p) => history.pushState(null, '', p), v.next);
        await batch;
      }
      // The page is left: its scroll depth goes by beacon, while the page (and its
      // User-Agent) is still there.
      await page.evaluate(() => dispatchEvent(new Event('pagehide')));
      await ctx.close();
    }));
  },

  async dashboard(browser) {
    const page = await (await browser.newContext({viewport: {width: 1200, height: 900}})).newPage();
    page.on('pageerror', (e) => console.log(`pageerror ${e.message}`));
    page.on('console', (m) => {
      if (/Content[- ]Security[- ]Policy/i.test(m.text())) console.log(`csp ${m.text()}`);
      // The bad funnel step's 400, which Chromium logs as a failed load, is the one expected.
      const bad = /status of 400/.test(m.text()) && /\/stats\/funnel\?/.test(m.location().url || '');
      if (m.type() === 'error' && bad) info('funnel_400', true);
      else if (m.type() === 'error') console.log(`console ${m.text()} (${m.location().url || ''})`);
    });
    await page.goto(`${env('REPORTING')}/#site=${encodeURIComponent(env('SITE'))}&range=today`);
    await answered(page, 0);
    await page.waitForSelector('#feed[data-filters=""] li');
    await page.waitForSelector('#realtime[data-filters=""]');
    info('start', await shown(page));
    await page.screenshot({path: `${env('SHOTS')}/dashboard-panels.png`, fullPage: true});
    await everyTab(page, 'tabs');
    // The keyboard: Tab reaches the tab picked, the right arrow picks the next one.
    await page.focus('[data-panel="devices"] [aria-selected="true"]');
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('#devices[data-by="browser"]:not([aria-busy])');
    info('keyboard', await page.evaluate(() => [document.activeElement.dataset.by,
      [...document.querySelectorAll('[data-panel="devices"] [role="tab"]')].map((b) => b.tabIndex)]));
    await page.keyboard.press('ArrowLeft');
    await page.waitForSelector('#devices[data-by="device"]:not([aria-busy])');

    // The funnel: one step alone is refused in the panel (nothing asked for), then two steps
    // picked (a third added and removed; the values trimmed) are shown.
    info('funnel_empty', await shown(page));
    await pickSteps(page, [['path', '/page/home'], ['event', '']]);
    await page.click('#funnel-form button[type="submit"]');
    info('funnel_one', await shown(page));
    await pickSteps(page, [['path', '/page/home'], ['event', ' signup '], ['path', '/page/docs']]);
    info('funnel_three_rows', (await shown(page)).funnel_rows);
    await pickSteps(page, [['path', '/page/home'], ['event', ' signup ']]);
    await page.click('#funnel-form button[type="submit"]');
    await page.waitForSelector('#funnel[data-steps="path:/page/home,event:signup"]:not([aria-busy])');
    info('funnel', await shown(page));
    await page.locator('#funnel-panel').screenshot({path: `${env('SHOTS')}/dashboard-funnel.png`});

    // A click on a goal's row: the filter event_type is signup, then its chip's × again.
    await clickLoad(page, '#goals tbody tr[data-value="signup"] td:nth-child(3)');
    info('goal', await shown(page));
    await clickLoad(page, '#filters .chip .remove');

    // A click on the row of mobile devices: a chip, the address, every panel filtered.
    let n = await loads(page);
    await page.click('#devices tbody tr[data-value="mobile"] td:nth-child(2)');
    await answered(page, n);
    await page.waitForSelector('#realtime[data-filters="device:is:mobile"]');
    info('mobile', await shown(page));
    await page.screenshot({path: `${env('SHOTS')}/dashboard-filtered.png`, fullPage: true});
    await everyTab(page, 'mobile_tabs');

    // A second filter, from another panel's row (its button): both chips, both applied.
    n = await loads(page);
    await page.click('#sources tbody tr:first-child button');
    await answered(page, n);
    info('two', await shown(page));

    // A reload keeps the filters (the address); the back button goes to the one before.
    n = 0;
    await page.reload();
    await answered(page, n);
    info('reloaded', await shown(page));
    n = await loads(page);
    await page.goBack();
    await answered(page, n);
    info('back', await shown(page));

    // The chip's operator: "is" turns into "is not" (every figure the API's for it), and back.
    await clickLoad(page, '#filters .chip .op');
    await page.waitForSelector('#realtime[data-filters="device:is_not:mobile"]');
    info('not_mobile', await shown(page));
    await clickLoad(page, '#filters .chip .op');
    await page.waitForSelector('#realtime[data-filters="device:is:mobile"]');
    info('mobile_again', await shown(page));

    // The chip's ×: the figures without the filter again.
    n = await loads(page);
    await page.click('#filters .chip .remove');
    await answered(page, n);
    await page.waitForSelector('#realtime[data-filters=""]');
    info('removed', await shown(page));

    // The row (none) of the countries (the visitor from loopback): filter country is (none).
    n = await loads(page);
    await page.click('#countries tbody tr[data-value="(none)"]');
    await answered(page, n);
    info('none', await shown(page));

    // An entry page's row: GET /events cannot filter on it, so the feed is the whole site's.
    n = await loads(page);
    await page.click('#entry tbody tr:first-child button');
    await answered(page, n);
    await page.waitForSelector('#realtime[data-filters=""]');
    info('entry', await shown(page));

    // At phone width, filtered: the panels and the chip fit (no sideways scroll).
    n = await loads(page);
    await page.setViewportSize({width: 375, height: 740});
    await page.click('#devices tbody tr:first-child button');
    await answered(page, n);
    info('phone_widths', await page.evaluate(() => [document.documentElement.scrollWidth,
                                                     document.documentElement.clientWidth]));
    await page.screenshot({path: `${env('SHOTS')}/dashboard-filtered-phone.png`, fullPage: true});

    // A bad step: the API's 400 in the funnel panel, not an alert.
    page.on('dialog', (d) => {
      console.log(`dialog ${d.message()}`);
      d.dismiss();
    });
    const long = '/' + 'x'.repeat(300);
    await pickSteps(page, [['path', '/page/home'], ['path', long]]);
    await page.click('#funnel-form button[type="submit"]');
    await page.waitForSelector(`#funnel[data-steps="path:/page/home,path:${long}"]:not([aria-busy])`);
    info('bad_step', await shown(page));
  },
};

main(cases);
