// app.js - the dashboard: reads reporting's JSON API only (/stats/summary, /stats,
// /stats/timeseries, /stats/breakdown, /stats/realtime, /events) for the site and range
// picked, and draws it with uPlot.
//
// Ranges are whole days of the site's time zone, as the API counts them (UTC unless
// SITE_TIMEZONES gives the site one, which /stats/realtime's answer names: a site first
// shown in UTC is shown again in its zone once that answer has said it, and the zone is kept
// for the tab): today, the last 7 or 30 days (today included) or custom from/to
// (inclusive). Times on the chart, in the feed and in the words are that zone's too. The first row is /stats/summary's figures against
// the period before; a click on one draws it on the chart (/stats/timeseries?metric=), hourly
// for ranges of up to 2 days, daily beyond. The live feed and the current visitors are asked
// for every 5 s until paused. When reporting answers 401 (READ_TOKENS), the page asks for a
// token and keeps it in sessionStorage: for this tab only, until it is closed.
//
// The page asks one thing at a time (it holds at most one of reporting's MAX_DB_REQUESTS
// database slots: every fetch waits for the one before it) and only what it shows: ten calls
// for the figures (/stats's top_paths are the top paths table; the sources, devices and
// countries panels ask for their tab picked only; the goals), an eleventh for the funnel when
// it has steps, then the feed's, without the events'
// properties, and the current visitors'. When reporting sheds load (503 with Retry-After) the
// page says it is busy and asks again.
//
// A click on a row of a table (a source, a device, a page...) adds the filter
// <dimension>:is:<value> to every figure's call (/stats/summary, /stats/timeseries and
// /stats/breakdown; the top paths then come from /stats/breakdown?by=path, as /stats takes no
// filter); the filters show as chips, each removable, its "is" turned into "is not" and back
// by a click on it, and are kept in the address
// (#...&filter=device:is:mobile, repeated), where the back button finds the ones before. The
// live feed and the current visitors are of the events they keep too (unless one is on an
// entry or exit page, which GET /events and /stats/realtime cannot apply).
//
// The goals panel is /stats/goals's custom events (a click on one filters on its event type);
// the funnel panel is /stats/funnel's answer for the steps picked, each a page or an event
// with this range's top pages and goals offered (kept in the address as
// &funnel=path:/,event:signup), asked for with the figures when there are steps.
'use strict';
(function () {
  const FEED_MS = 5000;
  const FEED_LIMIT = 20;
  const TOP_LIMIT = 10;
  const HOURLY_MAX_DAYS = 2;
  const DAY_MS = 86400000;
  const TOKEN_KEY = 'reporting-read-token';
  const ZONE_KEY = 'reporting-zone:'; // + site: its time zone, as /stats/realtime said it
  const BUSY_RETRIES = 3; // a call answered 503 with Retry-After is asked again this often
  const RETRY_MAX_MS = 30000; // the longest wait asked for is cut to this

  const $ = (id) => document.getElementById(id);
  const fmt = (n) => Number(n).toLocaleString('en-US');
  const two = (n) => String(n).padStart(2, '0');

  // The figures of the first row, as /stats/summary and /stats/timeseries's metric= name
  // them: their words, how a value is written, and whether a rise is good news.
  const FIGURES = {
    visitors: {label: 'Unique visitors', format: fmt, higherIsGood: true},
    visits: {label: 'Visits', format: fmt, higherIsGood: true},
    pageviews: {label: 'Pageviews', format: fmt, higherIsGood: true},
    views_per_visit: {label: 'Views per visit', format: (v) => String(Math.round(v * 100) / 100),
                      higherIsGood: true},
    bounce_rate: {label: 'Bounce rate', format: (v) => Math.round(v) + ' %', higherIsGood: false},
    visit_duration: {label: 'Visit duration', format: duration, higherIsGood: true},
    events: {label: 'All events', format: fmt, higherIsGood: true},
  };
  const DEFAULT_METRIC = 'visitors';
  const MAX_FILTERS = 10; // reporting's limit
  const FUNNEL_MIN = 2; // /stats/funnel's steps: 2 to 8
  const FUNNEL_MAX = 8;

  // The words of the dimensions a filter names, and of its operators.
  const DIMENSIONS = {
    source: 'Source', channel: 'Channel', utm_source: 'UTM source', utm_medium: 'UTM medium',
    utm_campaign: 'Campaign', utm_term: 'UTM term', utm_content: 'UTM content',
    device: 'Device', browser: 'Browser', os: 'OS', country: 'Country',
    entry_page: 'Entry page', exit_page: 'Exit page', path: 'Page', event_type: 'Event type',
    referrer: 'Referrer',
  };
  const OPERATORS = {is: 'is', is_not: 'is not', contains: 'contains'};

  // The breakdown panels: each a table of /stats/breakdown?by=<its tab>, the first tab shown
  // until another is picked.
  const PANELS = {
    sources: ['source', 'channel', 'utm_campaign', 'utm_source', 'utm_medium'],
    devices: ['device', 'browser', 'os'],
    countries: ['country'],
  };

  // Seconds as "42s", "1m 05s" or "1h 02m 05s".
  function duration(v) {
    const s = Math.round(v);
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + two(s % 60) + 's';
    return Math.floor(s / 3600) + 'h ' + two(Math.floor(s / 60) % 60) + 'm ' + two(s % 60) + 's';
  }

  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let current = null; // {site, range, from, to, days, interval, events}: what is shown
  let generation = 0; // each new query; answers to older ones are dropped
  let feedTimer = null;
  let feedPaused = false;
  let chart = null;
  let metric = DEFAULT_METRIC; // the figure on the chart
  let chartGen = 0; // each chart asked for; answers to older ones are dropped
  let lane = Promise.resolve(); // the fetch in flight: the next one starts when it ends
  let filters = []; // [{dimension, operator, value}]: the filters picked, in order
  let funnelSteps = ''; // the funnel's steps (/stats/funnel's steps=), '' for none
  let funnelGen = 0; // each funnel asked for; answers to older ones are dropped
  const tabs = {}; // panel -> the dimension of its tab shown
  const panelGen = {}; // panel -> each tab asked for; answers to older ones are dropped
  for (const p of Object.keys(PANELS)) {
    tabs[p] = PANELS[p][0];
    panelGen[p] = 0;
  }

  // A failed request: its status (0: no answer; -1: dropped for a newer query), the words
  // to show, the answer's body and, for a 503 with Retry-After, the wait asked for (ms;
  // else 0).
  class ApiError extends Error {
    constructor(status, message, body = null, waitMs = 0) {
      super(message);
      this.status = status;
      this.body = body;
      this.waitMs = waitMs;
    }
  }

  // The words shown for a failed request; for a 503, with "trying again in N s" when the
  // page will (waitMs), else "retry". Reporting says 503 for two things (docs/api.md): too many
  // requests already waiting on its database (busy: load shed, the database may be fine),
  // or the database unreachable.
  function messageFor(status, body, waitMs = 0) {
    const m = body && typeof body.message === 'string' ? body.message : '';
    if (status === 0) return 'Reporting could not be reached: check the connection and retry';
    if (status === 401) return 'This reporting server needs a read token.';
    if (status === 403) return m || 'This token may not read this site.';
    if (status === 503) {
      const what = /^Too many requests/.test(m)
        ? 'Reporting is busy (too many requests are waiting for its database)'
        : 'Reporting could not reach the database';
      return what + (waitMs ? ': trying again in ' + Math.ceil(waitMs / 1000) + ' s' : ': retry');
    }
    return m || 'Reporting answered ' + status;
  }

  // How long to wait before retry number `attempt` (0, 1, ...) of a call answered with
  // Retry-After `header` (seconds): that, or 1, 2, 4 ... s if longer, at most RETRY_MAX_MS,
  // plus up to a quarter more at random, so that pages refused together do not come back
  // together.
  function retryDelay(header, attempt) {
    const asked = /^\d+$/.test(header) ? Number(header) * 1000 : 0;
    const ms = Math.max(asked, 1000 * 2 ** attempt) * (1 + Math.random() / 4);
    return Math.min(RETRY_MAX_MS, Math.round(ms));
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Run fn (a fetch and the reading of its answer) once the one before it has ended, so that
  // the page holds at most one of reporting's database slots, whichever part asks.
  function oneAtATime(fn) {
    const run = lane.then(fn);
    lane = run.catch(() => {});
    return run;
  }

  // GET path?params from reporting; resolves to the JSON body of a 2xx, or rejects with an
  // ApiError. A 503 with Retry-After is asked again after retryDelay(), up to `retries`
  // times, calling onWait(words) before each wait, while the query is still the page's.
  async function api(path, params, {retries = BUSY_RETRIES, onWait = () => {}} = {}) {
    const gen = generation;
    for (let attempt = 0; ; attempt++) {
      const headers = token ? {Authorization: 'Bearer ' + token} : {};
      const {res, body} = await oneAtATime(async () => {
        let r;
        try {
          r = await fetch(path + '?' + new URLSearchParams(params), {headers, cache: 'no-store'});
        } catch (e) {
          throw new ApiError(0, messageFor(0, null));
        }
        try {
          return {res: r, body: await r.json()};
        } catch (e) {
          return {res: r, body: null};
        }
      });
      if (res.ok && body && typeof body === 'object') return body;
      if (res.ok) throw new ApiError(502, 'Reporting sent an unreadable answer');
      const after = res.status === 503 ? res.headers.get('Retry-After') : null;
      const waitMs = after === null ? 0 : retryDelay(after, attempt);
      if (!waitMs || attempt >= retries) {
        throw new ApiError(res.status, messageFor(res.status, body), body, waitMs);
      }
      onWait(messageFor(503, body, waitMs));
      await sleep(waitMs);
      if (gen !== generation) throw new ApiError(-1, '');
    }
  }

  // -- dates (days as YYYY-MM-DD; arithmetic on them as UTC midnights) ------------------
  const dayOf = (ms) => new Date(ms).toISOString().slice(0, 10);
  let zone = 'UTC'; // the current site's time zone (an IANA name)
  const zones = {}; // site -> its zone, once /stats/realtime has said it
  const formats = {}; // zone -> its Intl.DateTimeFormat
  // The parts of instant ms in the current zone: {year, month, day, hour, minute, second}.
  const partsIn = (ms) => {
    formats[zone] = formats[zone] || new Intl.DateTimeFormat('en-CA', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit'});
    return Object.fromEntries(formats[zone].formatToParts(new Date(ms))
      .filter((p) => p.type !== 'literal').map((p) => [p.type, p.value]));
  };
  // Instant ms as "YYYY-MM-DD HH:MM:SS" in the current zone, and its date alone.
  const timeIn = (ms) => {
    const p = partsIn(ms);
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
  };
  const dateIn = (ms) => timeIn(ms).slice(0, 10);
  const msOf = (day) => Date.parse(day + 'T00:00:00Z');
  const isDay = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !isNaN(msOf(s)) && dayOf(msOf(s)) === s;

  // The range the picker says: {from, to, days} or {error}.
  function pickedRange() {
    const today = dateIn(Date.now());
    const r = $('range').value;
    let from = today;
    let to = today;
    if (r === 'custom') {
      from = $('from').value;
      to = $('to').value;
      if (!isDay(from) || !isDay(to)) return {error: 'Pick both dates of the custom range.'};
      if (from > to) return {error: 'The range must not start after it ends.'};
    } else if (r !== 'today') {
      from = dayOf(msOf(today) - (Number(r) - 1) * DAY_MS);
    }
    return {from, to, days: (msOf(to) - msOf(from)) / DAY_MS + 1};
  }

  // -- showing states ------------------------------------------------------------------
  // The page's state on <body>, for people's tools and tests alike: data-state is
  // "loading", "ready", "error" or "token"; data-loads counts the queries answered.
  function setState(state) {
    document.body.dataset.state = state;
    if (state !== 'loading') {
      document.body.dataset.loads = String(Number(document.body.dataset.loads || 0) + 1);
    }
  }

  function setStatus(text, isError, retry) {
    const s = $('status');
    const words = document.createElement('span');
    words.id = 'status-text';
    words.textContent = text;
    s.replaceChildren(words);
    s.classList.toggle('error', Boolean(isError));
    if (retry) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'Retry';
      b.addEventListener('click', () => load());
      s.append(b);
    }
  }

  function setMsg(id, text, isError) {
    const m = $(id);
    m.textContent = text || '';
    m.hidden = !text;
    m.classList.toggle('error', Boolean(isError));
  }

  function askToken(why) {
    stopFeed();
    $('realtime').hidden = true;
    $('token-why').textContent = why;
    $('token-form').hidden = false;
    $('data').hidden = true;
    setStatus('', false);
    setState('token');
    $('token').focus();
  }

  // A failed request: the token form for 401, else the words in the section's own place, or
  // in the status line (with a Retry button for a 503 or no answer).
  function failed(err, msgId) {
    if (err.status === 401) {
      askToken(token ? 'That token was not accepted: enter another read token.'
                     : 'This reporting server needs a read token.');
      return;
    }
    const retry = err.status === 0 || err.status === 503;
    if (msgId) setMsg(msgId, err.message, true);
    else setStatus(err.message, true, retry);
  }

  // The rows of a table: each cell its words, or [words, the number they say], kept in the
  // cell's data-value (for people's tools and tests alike). With a dimension, each row's
  // first cell is a button that filters on it (is its value; the words may differ: a
  // country's name), and a click anywhere on the row does the same.
  function fillRows(tbodySelector, rows, dimension, label = String) {
    const tbody = document.querySelector(tbodySelector + ' tbody');
    tbody.replaceChildren(
      ...rows.map((cells) => {
        const tr = document.createElement('tr');
        for (const [i, c] of cells.entries()) {
          const td = document.createElement('td');
          if (i === 0 && dimension) {
            const b = document.createElement('button');
            b.type = 'button';
            b.className = 'rowf';
            b.dataset.value = c;
            b.textContent = label(c);
            b.title = 'Filter: ' + filterWords({dimension, operator: 'is', value: c});
            td.append(b);
            tr.className = 'filterable';
            tr.dataset.dimension = dimension;
            tr.dataset.value = c;
          } else if (Array.isArray(c)) {
            td.textContent = c[0];
            td.dataset.value = String(c[1]);
          } else {
            td.textContent = c;
          }
          tr.append(td);
        }
        return tr;
      }));
  }

  // The words of a country code: its English name and the code, "Germany (DE)" (the code
  // alone where the browser has no names). Not its flag: a flag is two regional indicator
  // letters, which many systems draw as letters or boxes.
  const regionNames = typeof Intl === 'object' && Intl.DisplayNames
    ? new Intl.DisplayNames(['en'], {type: 'region'}) : null;
  function countryLabel(code) {
    if (!/^[A-Z]{2}$/.test(code) || !regionNames) return code;
    let name = '';
    try {
      name = regionNames.of(code);
    } catch (e) {}
    return name && name !== code ? name + ' (' + code + ')' : code;
  }

  // -- the sections ----------------------------------------------------------------------
  // The change of a figure against the period before (percent, or null when that period's
  // figure was 0) on its button: an arrow and the percent, "good" or "bad" as the figure
  // goes; "—" without one.
  function showChange(el, name, change) {
    const arrow = document.createElement('span');
    arrow.className = 'arrow';
    arrow.setAttribute('aria-hidden', 'true');
    const said = document.createElement('span');
    said.className = 'vh';
    const pct = document.createElement('span');
    pct.className = 'pct';
    let tone = 'none';
    if (typeof change !== 'number') {
      pct.textContent = '—';
      said.textContent = 'no figure before to compare with ';
      el.title = 'The period before had none: no change to show';
    } else {
      const r = Math.round(Math.abs(change));
      pct.textContent = fmt(r) + ' %';
      if (r !== 0) {
        const up = change > 0;
        arrow.textContent = up ? '↑' : '↓';
        said.textContent = up ? 'up ' : 'down ';
        tone = up === FIGURES[name].higherIsGood ? 'good' : 'bad';
      }
      el.title = 'Against the period before';
    }
    el.className = 'change ' + tone;
    el.dataset.change = typeof change === 'number' ? String(change) : '';
    el.replaceChildren(arrow, said, pct);
  }

  // The first row: /stats/summary's figures with their change (or "–" for each, sum null).
  function showSummary(sum) {
    for (const name of Object.keys(FIGURES)) {
      const b = $('fig-' + name);
      const v = sum ? sum[name] : null;
      const figure = b.querySelector('.figure');
      figure.textContent = typeof v === 'number' ? FIGURES[name].format(v) : '–';
      figure.dataset.value = typeof v === 'number' ? String(v) : '';
      const change = b.querySelector('.change');
      if (sum && sum.change) showChange(change, name, sum.change[name]);
      else change.replaceChildren();
    }
    // Over several days, visitors known by ingest's daily hash count once a day (docs/api.md).
    const perDay = Boolean(sum) && sum.hashed_visitors === 'per_day';
    $('users-note').hidden = !perDay;
    if (perDay) $('fig-visitors').setAttribute('aria-describedby', 'users-note');
    else $('fig-visitors').removeAttribute('aria-describedby');
    setMsg('cards-msg', sum && sum.events === 0 ? 'No events for this site in this range' : '');
    // The site's raw events start at raw_events_from (docs/api.md): a range that starts before
    // it is whole in the rollups' figures only.
    const rawFrom = sum && typeof sum.raw_events_from === 'string' ? sum.raw_events_from : '';
    $('retention-note').hidden = !(rawFrom && current && current.from < rawFrom);
    $('retention-note').textContent = 'Raw events are kept from ' + rawFrom + ' on: figures ' +
      'that read them (filters, goals, funnels, most breakdowns, visitors over several days) ' +
      'leave out the days before.';
  }

  // The figure on the chart: its button pressed, the others not, its name in the title.
  function pickMetric(name) {
    metric = name;
    for (const b of document.querySelectorAll('.fig')) {
      b.setAttribute('aria-pressed', String(b.dataset.metric === name));
    }
    $('chart-title').textContent = FIGURES[name].label;
    $('series-metric').textContent = FIGURES[name].label;
  }

  // The x axis in the site's zone: ticks on whole hours (hourly) or days (daily), labelled
  // "HH:00", with the date under midnight, or "MM-DD".
  function timeAxis(interval) {
    const H = 3600;
    const D = 24 * H;
    const label = (ts) => {
      const p = partsIn(ts * 1000);
      const day = p.month + '-' + p.day;
      if (interval !== 'hour') return day;
      return p.hour + ':' + p.minute + (p.hour === '00' ? '\n' + day : '');
    };
    return {
      incrs: interval === 'hour' ? [H, 2 * H, 3 * H, 4 * H, 6 * H, 12 * H, D]
                                 : [D, 2 * D, 7 * D, 14 * D, 28 * D],
      values: (u, splits) => splits.map(label),
      space: 50,
    };
  }

  // The chart of one figure (name) over the points of a /stats/timeseries?metric= answer.
  function drawChart(points, interval, name) {
    const f = FIGURES[name];
    const xs = points.map((p) => Date.parse(p.t) / 1000);
    const data = [xs, points.map((p) => p[name])];
    const box = $('chart');
    const width = Math.max(200, box.clientWidth);
    const opts = {
      width,
      height: 220,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), zone === 'UTC' ? 'Etc/UTC' : zone),
      legend: {show: true},
      scales: {x: {time: true}, y: {range: (u, min, max) => [0, Math.max(1, max)]}},
      series: [
        {label: (interval === 'hour' ? 'Hour' : 'Day') + ' (' + zone + ')'},
        {label: f.label, stroke: '#2456d3', fill: 'rgba(36,86,211,0.08)', width: 2,
         value: (u, v) => (v == null ? '–' : f.format(v))},
      ],
      axes: [timeAxis(interval), {size: 60, values: (u, splits) => splits.map(f.format)}],
    };
    if (chart) chart.destroy();
    box.replaceChildren();
    chart = new uPlot(opts, data, box);
    box.dataset.points = String(points.length);
    box.dataset.metric = name;
  }

  // A /stats/timeseries?metric= answer for figure `name` on the chart and in its table;
  // `events` is the range's count of events (null: not known), for the words of an empty one.
  function showSeries(ts, interval, name, events) {
    const points = Array.isArray(ts.points) ? ts.points : [];
    const f = FIGURES[name];
    $('interval').textContent = (interval === 'hour' ? 'by hour' : 'by day') + ' (' + zone + ')';
    $('series-time').textContent = 'Time (' + zone + ')';
    drawChart(points, interval, name);
    // An hour's local time, with its offset in a zone (the hour repeated in autumn is two).
    const label = (t) => (interval !== 'hour' ? t.slice(0, 10)
      : t.slice(0, 16).replace('T', ' ') + (zone === 'UTC' ? '' : ' ' + t.slice(19)));
    fillRows('#series', points.map((p) => [label(p.t), [f.format(p[name]), p[name]]]));
    let words = '';
    if (events === 0) words = 'No events for this site in this range';
    else if (points.every((p) => !p[name])) words = f.label + ': 0 throughout this range';
    setMsg('chart-msg', words);
  }

  // Ask for figure `name` over the query shown and draw it (a click on a figure).
  async function loadChart(name) {
    const q = current;
    if (!q) return;
    const gen = generation;
    const mine = ++chartGen;
    pickMetric(name);
    saveAddress(q);
    $('chart').setAttribute('aria-busy', 'true');
    try {
      const ts = await api('/stats/timeseries', seriesParams(q, name));
      if (gen !== generation || mine !== chartGen) return;
      showSeries(ts, q.interval, name, q.events);
    } catch (err) {
      if (gen !== generation || mine !== chartGen) return;
      showSeries({points: []}, q.interval, name, q.events);
      failed(err, 'chart-msg');
    } finally {
      if (mine === chartGen) $('chart').removeAttribute('aria-busy');
    }
  }

  const seriesParams = (q, name) => withFilters(q, {site_id: q.site, from: q.from, to: q.to,
                                                     interval: q.interval, metric: name});

  // -- filters -----------------------------------------------------------------------------
  const filterText = (f) => f.dimension + ':' + f.operator + ':' + f.value;

  // A filter as the API and the address write it (<dimension>:<operator>:<value>, the value
  // after the second ':' whatever it holds), or null.
  function parseFilter(text) {
    const m = /^([^:]+):([^:]+):([\s\S]*)$/.exec(text);
    return m ? {dimension: m[1], operator: m[2], value: m[3]} : null;
  }

  // params (an object) with query q's filters, as [name, value] pairs for URLSearchParams.
  const withFilters = (q, params) => Object.entries(params)
    .concat(q.filters.map((f) => ['filter', filterText(f)]));

  // The words of a filter's dimension ("Device") and the whole filter ("Device is mobile").
  const dimensionWords = (f) => DIMENSIONS[f.dimension] ||
    (f.dimension.startsWith('prop.') ? 'Property ' + f.dimension.slice(5) : f.dimension);
  const filterWords = (f) => dimensionWords(f) + ' ' + (OPERATORS[f.operator] || f.operator) +
    ' ' + f.value;

  // The operator a click on a chip's operator turns it into: "is" and "is not" into each
  // other; "contains" has no opposite in the API and stays.
  const TOGGLED = {is: 'is_not', is_not: 'is'};

  // The chips of the filters shown: each one's words, its operator a button that turns it
  // into its opposite ("Device is mobile" into "Device is not mobile"), and its × to remove it.
  function showFilters() {
    const box = $('filters');
    box.replaceChildren(...filters.map((f, i) => {
      const chip = document.createElement('span');
      chip.className = 'chip';
      chip.dataset.filter = filterText(f);
      const words = document.createElement('span');
      const op = document.createElement('button');
      op.type = 'button';
      op.className = 'op';
      op.textContent = OPERATORS[f.operator] || f.operator;
      if (TOGGLED[f.operator]) {
        const other = Object.assign({}, f, {operator: TOGGLED[f.operator]});
        op.title = 'Change to "' + filterWords(other) + '"';
        op.setAttribute('aria-label', 'Change the filter ' + filterWords(f) + ' to ' +
                        filterWords(other));
        op.addEventListener('click', () => setFilters(filters.map((g, j) => (j === i ? other : g))));
      } else {
        op.disabled = true;
      }
      words.append(dimensionWords(f) + ' ', op, ' ' + f.value);
      const x = document.createElement('button');
      x.type = 'button';
      x.className = 'remove';
      x.textContent = '×';
      x.title = 'Remove this filter';
      x.setAttribute('aria-label', 'Remove the filter ' + filterWords(f));
      x.addEventListener('click', () => setFilters(filters.filter((g, j) => j !== i)));
      chip.append(words, x);
      return chip;
    }));
    box.hidden = filters.length === 0;
    // The feed's words on the filters: it and the current visitors show the events they
    // keep, unless one is on a visit's entry or exit page (feedFilters()).
    const note = $('feed-filtered');
    note.hidden = filters.length === 0;
    note.textContent = feedFilters(filters) ? ', filtered'
      : ': the whole site\'s (they cannot be filtered on entry or exit pages)';
  }

  // The filters the feed and the current visitors apply: all of them, or null when one is on a
  // visit's entry or exit page, which GET /events and /stats/realtime cannot apply to a page
  // or a window of events (they answer 400).
  const feedFilters = (list) => (list.some((f) => ['entry_page', 'exit_page'].includes(f.dimension))
    ? null : list);

  // Show the figures with these filters instead, as a new entry of the tab's history (the
  // back button goes to the filters before).
  function setFilters(list) {
    filters = list.slice(0, MAX_FILTERS);
    if (current) {
      history.pushState(null, '', addressOf(Object.assign({}, current, {filters})));
    }
    load();
  }

  // A click on a row: filter on dimension is value, instead of another "is" filter on the
  // same dimension (both could not hold), after the others.
  function addFilter(dimension, value) {
    const others = filters.filter((f) => !(f.dimension === dimension && f.operator === 'is'));
    setFilters(others.concat({dimension, operator: 'is', value}));
  }

  // The address of query q: the site, range, the chart's figure, the panels' tabs and the
  // filters (repeated).
  function addressOf(q) {
    const a = new URLSearchParams({site: q.site, range: q.range, from: q.from, to: q.to, metric});
    for (const p of Object.keys(PANELS)) {
      if (tabs[p] !== PANELS[p][0]) a.append(p, tabs[p]);
    }
    for (const f of q.filters) a.append('filter', filterText(f));
    if (funnelSteps) a.append('funnel', funnelSteps);
    return '#' + a;
  }

  // The query in the address, so that a view can be bookmarked.
  function saveAddress(q) {
    history.replaceState(null, '', addressOf(q));
  }

  // What the address says: the site, range, figure, tabs and filters.
  function readAddress() {
    const saved = new URLSearchParams(location.hash.slice(1));
    if (saved.get('site')) $('site').value = saved.get('site');
    if (saved.get('range')) $('range').value = saved.get('range');
    if (saved.get('from')) $('from').value = saved.get('from');
    if (saved.get('to')) $('to').value = saved.get('to');
    if (FIGURES[saved.get('metric')]) pickMetric(saved.get('metric'));
    for (const p of Object.keys(PANELS)) {
      pickTab(p, PANELS[p].includes(saved.get(p)) ? saved.get(p) : PANELS[p][0]);
    }
    filters = saved.getAll('filter').map(parseFilter).filter((f) => f).slice(0, MAX_FILTERS);
    funnelSteps = saved.get('funnel') || '';
    setStepRows(funnelSteps);
  }

  // The rows of a /stats/breakdown answer ({"values":[{"value","views"[,"unique_users"]}]},
  // most viewed first): [value, views] or, where users are kept (by=event_type), [value,
  // views, users].
  // (Filtered, the rows have the visitors instead of unique_users.)
  function breakdownRows(body, withUsers) {
    const list = Array.isArray(body.values) ? body.values : [];
    const users = (v) => fmt(typeof v.unique_users === 'number' ? v.unique_users : v.visitors);
    return list.map((v) => (withUsers ? [String(v.value), fmt(v.views), users(v)]
                                      : [String(v.value), fmt(v.views)]));
  }

  function showBreakdown(body, withUsers, table, msgId, empty, dimension) {
    const rows = breakdownRows(body, withUsers);
    fillRows(table, rows, dimension);
    setMsg(msgId, rows.length === 0 ? empty : '');
  }

  const bounce = (v) => (typeof v === 'number' ? [FIGURES.bounce_rate.format(v), v] : ['–', '']);

  // A by=entry_page or by=exit_page answer ({"values":[{"value","visits","bounce_rate"}]}):
  // page, visits, bounce rate.
  function showPages(body, table, msgId, dimension) {
    const list = Array.isArray(body.values) ? body.values : [];
    fillRows(table, list.map((v) => [String(v.value), [fmt(v.visits), v.visits],
                                     bounce(v.bounce_rate)]), dimension);
    setMsg(msgId, list.length === 0 ? 'No visits counted in this range' : '');
  }

  // A panel's /stats/breakdown answer ({"values":[{"value","visitors","visits","pageviews",
  // "bounce_rate"}]}, most visitors first): value, visitors, visits, pageviews, bounce rate.
  function showPanel(panel, body, by) {
    const list = Array.isArray(body.values) ? body.values : [];
    const n = (v) => (typeof v === 'number' ? [fmt(v), v] : ['–', '']);
    fillRows('#' + panel, list.map((v) => [String(v.value), n(v.visitors), n(v.visits),
                                           n(v.pageviews), bounce(v.bounce_rate)]),
             by, by === 'country' ? countryLabel : String);
    $(panel).dataset.by = by;
    setMsg(panel + '-msg', list.length === 0 ? 'No visits counted in this range' : '');
  }

  // The tab of a panel shown: its button selected, its words the table's first heading.
  function pickTab(panel, by) {
    tabs[panel] = by;
    for (const b of document.querySelectorAll(`[data-panel="${panel}"] [role="tab"]`)) {
      const on = b.dataset.by === by;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1; // Tab reaches the one picked; the arrow keys the others
      if (on) $(panel + '-by').textContent = b.textContent;
    }
  }

  const panelParams = (q, panel) => withFilters(q, {site_id: q.site, from: q.from, to: q.to,
                                                    by: tabs[panel], limit: TOP_LIMIT});

  // Ask for a panel's tab by over the query shown, and show it (a click on a tab; one while
  // the query's calls are asked for is asked after them, and shown instead).
  async function loadPanel(panel, by) {
    const q = current;
    pickTab(panel, by);
    if (!q) return;
    const gen = generation;
    const mine = ++panelGen[panel];
    saveAddress(q);
    $(panel).setAttribute('aria-busy', 'true');
    try {
      const body = await api('/stats/breakdown', panelParams(q, panel));
      if (gen !== generation || mine !== panelGen[panel]) return;
      showPanel(panel, body, by);
    } catch (err) {
      if (gen !== generation || mine !== panelGen[panel]) return;
      fillRows('#' + panel, []);
      failed(err, panel + '-msg');
    } finally {
      if (mine === panelGen[panel]) $(panel).removeAttribute('aria-busy');
    }
  }

  // -- goals and the funnel ----------------------------------------------------------
  const rate = (v) => (typeof v === 'number' ? [Math.round(v * 10) / 10 + ' %', v] : ['–', '']);
  const count = (v) => (typeof v === 'number' ? [fmt(v), v] : ['–', '']);

  const goalsParams = (q) => withFilters(q, {site_id: q.site, from: q.from, to: q.to,
                                             limit: TOP_LIMIT});

  // A /stats/goals answer ({"goals":[{"goal","visitors","events","conversion_rate"}]}, most
  // converted visitors first): goal, visitors, events, conversion rate; a click on a goal
  // filters on its event type. The goals are also the funnel's hint.
  function showGoals(body) {
    const list = Array.isArray(body.goals) ? body.goals : [];
    fillRows('#goals', list.map((g) => [String(g.goal), count(g.visitors), count(g.events),
                                        rate(g.conversion_rate)]), 'event_type');
    setMsg('goals-msg', list.length === 0
      ? 'No custom events in this range (event types other than page_view, click, scroll, ' +
        'mousemove and form)' : '');
    offer('funnel-goals', list.map((g) => String(g.goal)));
  }

  // The suggestions of datalist id: values, in order.
  function offer(id, values) {
    $(id).replaceChildren(...values.map((v) => new Option(v)));
  }

  // One step's row of the funnel form: page or event, its value (suggested from the range's
  // top pages or goals), and its × to remove it.
  function stepRow(kind, value) {
    const li = document.createElement('li');
    const what = document.createElement('select');
    what.append(new Option('Page', 'path'), new Option('Event', 'event'));
    what.value = kind === 'event' ? 'event' : 'path';
    const input = document.createElement('input');
    input.value = value;
    input.spellcheck = false;
    input.autocomplete = 'off';
    const suggest = () => {
      input.setAttribute('list', what.value === 'event' ? 'funnel-goals' : 'funnel-pages');
      input.placeholder = what.value === 'event' ? 'signup' : '/pricing';
    };
    what.addEventListener('change', suggest);
    suggest();
    const x = document.createElement('button');
    x.type = 'button';
    x.className = 'remove';
    x.textContent = '×';
    x.addEventListener('click', () => {
      li.remove();
      numberSteps();
    });
    li.append(what, input, x);
    return li;
  }

  // Each row's words for screen readers, and whether another step may be added (at most 8;
  // the last two rows keep no ×, a funnel needs two).
  function numberSteps() {
    const rows = [...$('funnel-steps').children];
    rows.forEach((li, i) => {
      const [what, input, x] = li.children;
      what.setAttribute('aria-label', `Step ${i + 1}: page or event`);
      input.setAttribute('aria-label', `Step ${i + 1}: ${what.value === 'event'
        ? 'event type' : 'path'}`);
      x.setAttribute('aria-label', `Remove step ${i + 1}`);
      x.hidden = rows.length <= FUNNEL_MIN;
    });
    $('funnel-add').disabled = rows.length >= FUNNEL_MAX;
  }

  // The rows of steps ("path:/,event:signup"; a step of neither kind is a page's value), at
  // least two.
  function setStepRows(steps) {
    const rows = (steps ? steps.split(',') : []).slice(0, FUNNEL_MAX).map((t) => {
      const m = /^(path|event):(.*)$/s.exec(t);
      return m ? stepRow(m[1], m[2]) : stepRow('path', t);
    });
    while (rows.length < FUNNEL_MIN) rows.push(stepRow(rows.length ? 'event' : 'path', ''));
    $('funnel-steps').replaceChildren(...rows);
    numberSteps();
  }

  // The steps of the rows filled in ("path:/,event:signup"), each value trimmed.
  function stepsPicked() {
    return [...$('funnel-steps').children].map((li) => {
      const [what, input] = li.children;
      const v = input.value.trim();
      return v ? what.value + ':' + v : '';
    }).filter((t) => t).join(',');
  }

  const funnelParams = (q) => withFilters(q, {site_id: q.site, from: q.from, to: q.to,
                                              steps: q.funnel});

  // A /stats/funnel answer ({"steps":[{"step","visitors","dropoff","conversion_rate"}]}, in
  // the order asked) for steps: each step with a bar of its share of step 1, its visitors,
  // that share and the drop-off from the step before. Null: no funnel (no steps).
  function showFunnel(body, steps) {
    const list = body && Array.isArray(body.steps) ? body.steps : [];
    $('funnel').querySelector('tbody').replaceChildren(...list.map((s, i) => {
      const tr = document.createElement('tr');
      const name = document.createElement('td');
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.style.width = Math.max(0, Math.min(100, Number(s.conversion_rate) || 0)) + '%';
      name.append(String(s.step), bar);
      tr.append(name);
      for (const [words, v] of [count(s.visitors), rate(s.conversion_rate),
                                i === 0 ? ['–', s.dropoff] : count(s.dropoff)]) {
        const td = document.createElement('td');
        td.textContent = words;
        td.dataset.value = String(v);
        tr.append(td);
      }
      return tr;
    }));
    $('funnel').dataset.steps = steps;
    setMsg('funnel-msg', !body ? 'Pick the steps and show the funnel.'
      : list.length && !list[0].visitors ? 'No visit reached the first step in this range' : '');
  }

  // Ask for the funnel of the steps picked over the query shown (the form's button), and keep
  // them in the address. One step is not a funnel: said in the panel, nothing asked for. The
  // API's refusal (a bad step: its 400) is said in the panel too.
  async function loadFunnel() {
    const picked = stepsPicked();
    const q = current;
    if (!q) return;
    if (picked && !picked.includes(',')) {
      ++funnelGen;
      showFunnel({steps: []}, funnelSteps);
      setMsg('funnel-msg', `A funnel needs ${FUNNEL_MIN} to ${FUNNEL_MAX} steps: pick one more`);
      return;
    }
    funnelSteps = picked;
    q.funnel = funnelSteps;
    saveAddress(q);
    const gen = generation;
    const mine = ++funnelGen;
    if (!funnelSteps) {
      showFunnel(null, '');
      return;
    }
    $('funnel').setAttribute('aria-busy', 'true');
    try {
      const body = await api('/stats/funnel', funnelParams(q));
      if (gen !== generation || mine !== funnelGen) return;
      showFunnel(body, q.funnel);
    } catch (err) {
      if (gen !== generation || mine !== funnelGen) return;
      showFunnel({steps: []}, q.funnel);
      failed(err, 'funnel-msg');
    } finally {
      if (mine === funnelGen) $('funnel').removeAttribute('aria-busy');
    }
  }

  // -- the live feed ------------------------------------------------------------------
  function stopFeed() {
    clearTimeout(feedTimer);
    feedTimer = null;
  }

  function scheduleFeed(ms = FEED_MS) {
    stopFeed();
    if (!feedPaused && current) feedTimer = setTimeout(loadLive, ms);
  }

  function showFeed(events, filtered) {
    $('feed').replaceChildren(
      ...events.map((e) => {
        const li = document.createElement('li');
        if (e.id) li.dataset.id = e.id;
        const time = document.createElement('time');
        const ts = typeof e.timestamp === 'string' ? e.timestamp : '';
        time.dateTime = ts;
        time.textContent = ts && !isNaN(Date.parse(ts)) ? timeIn(Date.parse(ts)) + ' ' + zone : ts;
        const type = document.createElement('span');
        type.className = 'type';
        type.textContent = e.event_type;
        const path = document.createElement('span');
        path.className = 'path';
        path.textContent = e.path || '';
        const user = document.createElement('span');
        user.className = 'user';
        user.textContent = e.user_id ? 'user ' + e.user_id : '';
        li.append(time, type, path, user);
        return li;
      }));
    setMsg('feed-msg', events.length === 0
      ? (filtered ? 'No events of these filters yet' : 'No events for this site yet') : '');
  }

  // A range without events of a site that has some (the feed's newest): the page offers the
  // day of the latest one, since a first look often picks a range the events are not in.
  function offerLatest(events) {
    const q = current;
    if (!q || !q.empty || events.length === 0 || typeof events[0].timestamp !== 'string') return;
    const latest = events[0].timestamp.slice(0, 10);
    if (!isDay(latest) || (latest >= q.from && latest <= q.to)) return;
    setMsg('cards-msg', 'No events for this site in this range; its latest event is on ' +
           latest + '. ');
    const b = document.createElement('button');
    b.type = 'button';
    b.id = 'show-latest';
    b.textContent = 'Show ' + latest;
    b.addEventListener('click', () => {
      $('range').value = 'custom';
      $('custom').hidden = false;
      $('from').value = latest;
      $('to').value = latest;
      load();
    });
    $('cards-msg').append(b);
  }

  // The current visitors (a /stats/realtime answer), near the header; err: why not.
  function showRealtime(body, err) {
    const n = body && typeof body.visitors === 'number' ? body.visitors : null;
    $('realtime-n').textContent = n === null ? '–' : fmt(n);
    $('realtime-n').dataset.value = n === null ? '' : String(n);
    $('realtime-words').textContent = n === 1 ? 'current visitor' : 'current visitors';
    $('realtime').title = err ? err.message
      : 'Visitors with an event in the last ' + Math.round((body.window_seconds || 300) / 60) +
        ' minutes; updated ' + timeIn(Date.now()).slice(11) + ' ' + zone;
    $('realtime').classList.toggle('error', Boolean(err));
    $('realtime').hidden = false;
  }

  // One poll of the live parts, in turn: the feed, then the current visitors. Then the next,
  // FEED_MS later (or after a busy answer's Retry-After, if longer), unless paused or another
  // query started.
  async function loadLive() {
    const q = current;
    const gen = generation;
    if (!q) return;
    let next = FEED_MS;
    let part = 'feed';
    try {
      // Only what the feed shows: no properties (reporting's properties=false; an older
      // reporting ignores the parameter). A busy answer waits for the next poll, or longer.
      // The events the filters keep (feedFilters()).
      const kept = feedFilters(q.filters) || [];
      const body = await api('/events', withFilters({filters: kept}, {site_id: q.site,
                                                                    limit: FEED_LIMIT,
                                                                    properties: 'false'}),
                             {retries: 0});
      if (gen !== generation) return;
      const events = Array.isArray(body.events) ? body.events : [];
      showFeed(events, kept.length > 0);
      $('feed').dataset.filters = kept.map(filterText).join(' ');
      offerLatest(events);
      $('feed-status').textContent = 'Updated ' + timeIn(Date.now()).slice(11) + ' ' + zone;
      if (feedPaused) return;
      part = 'realtime';
      const now = await api('/stats/realtime', withFilters({filters: kept}, {site_id: q.site}),
                            {retries: 0});
      if (gen !== generation) return;
      // The site's time zone ("timezone"; none: UTC). Learnt here, the first time a site's
      // figures were asked in UTC: they are asked again in its zone (kept for the tab).
      const tz = typeof now.timezone === 'string' ? now.timezone : 'UTC';
      if (zones[q.site] !== tz) {
        zones[q.site] = tz;
        if (tz === 'UTC') sessionStorage.removeItem(ZONE_KEY + q.site);
        else sessionStorage.setItem(ZONE_KEY + q.site, tz);
        if (tz !== zone) {
          load();
          return;
        }
      }
      showRealtime(now, null);
      $('realtime').dataset.filters = kept.map(filterText).join(' ');
    } catch (err) {
      if (gen !== generation) return;
      if (err.status === 401) {
        failed(err);
        return;
      }
      next = Math.max(next, err.waitMs);
      if (part === 'realtime') showRealtime(null, err);
      else if (err.waitMs) setMsg('feed-msg', messageFor(503, err.body, next), true);
      else failed(err, 'feed-msg');
    }
    scheduleFeed(next);
  }

  function togglePause() {
    feedPaused = !feedPaused;
    const b = $('pause');
    b.setAttribute('aria-pressed', String(feedPaused));
    b.textContent = feedPaused ? 'Resume' : 'Pause';
    $('realtime').classList.toggle('paused', feedPaused);
    if (feedPaused) {
      stopFeed();
      $('feed-status').textContent = 'Paused';
    } else {
      loadLive();
    }
  }

  // -- one query -----------------------------------------------------------------------
  async function load() {
    const site = $('site').value.trim();
    stopFeed();
    generation++;
    $('realtime').hidden = true;
    if (!site) {
      setStatus('Enter a site to see its data.', false);
      setState('error');
      return;
    }
    // The site's time zone, as /stats/realtime last said it in this tab (UTC until it has).
    zone = zones[site] || sessionStorage.getItem(ZONE_KEY + site) || 'UTC';
    const range = pickedRange();
    if (range.error) {
      setStatus(range.error, true);
      setState('error');
      return;
    }
    const interval = range.days <= HOURLY_MAX_DAYS ? 'hour' : 'day';
    const q = {site, range: $('range').value, from: range.from, to: range.to, days: range.days,
               interval, events: null, filters: filters.slice(), funnel: funnelSteps};
    const gen = generation;
    current = q;
    saveAddress(q);
    setStatus('Loading…', false);
    setState('loading');
    const span = {site_id: site, from: q.from, to: q.to};
    const onWait = (words) => setStatus(words, true);
    const chartOf = metric;
    const filtered = q.filters.length > 0;
    const panelBy = Object.keys(PANELS).map((p) => tabs[p]); // the tabs asked for
    const by = (name) => withFilters(q, Object.assign({by: name, limit: TOP_LIMIT}, span));
    showFilters();
    for (const p of Object.keys(PANELS)) panelGen[p]++;
    const funnelOf = ++funnelGen;
    const calls = [
      ['/stats/summary', withFilters(q, Object.assign({compare: 'previous'}, span))],
      ['/stats/timeseries', seriesParams(q, chartOf)],
      filtered ? ['/stats/breakdown', by('path')] : ['/stats', span],
      ['/stats/breakdown', by('event_type')],
      ['/stats/breakdown', by('entry_page')],
      ['/stats/breakdown', by('exit_page')],
    ].concat(Object.keys(PANELS).map((p) => ['/stats/breakdown', panelParams(q, p)]),
             [['/stats/goals', goalsParams(q)]],
             q.funnel ? [['/stats/funnel', funnelParams(q)]] : []);
    // One call at a time. A failure that is the page's, not a section's (no token, a site
    // the token may not read, reporting busy or without its database, no answer), ends the
    // query: the calls after it would fail alike.
    const results = [];
    for (const [path, params] of calls) {
      let result;
      try {
        result = {status: 'fulfilled', value: await api(path, params, {onWait})};
      } catch (err) {
        result = {status: 'rejected', reason: err};
      }
      if (gen !== generation) return;
      results.push(result);
      const err = result.reason;
      if (err && err.status === 401) {
        failed(err);
        return;
      }
      if (err && [403, 503, 0].includes(err.status)) {
        // Said once, for the page, without the figures of an earlier query.
        $('data').hidden = true;
        setStatus(err.message, true, err.status !== 403);
        setState('error');
        return;
      }
      if (!err) setStatus('Loading…', false);
    }
    const errors = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
    $('token-form').hidden = true;
    $('data').hidden = false;
    $('range-label').textContent = q.from === q.to ? site + ', ' + q.from + ' (' + zone + ')'
      : site + ', ' + q.from + ' to ' + q.to + ' (' + zone + ')';
    // Every section shows its own answer, or the words for its failure. A section that
    // failed shows nothing of an earlier query: only its words.
    const [summary, ts, stats, types, entry, exit, ...rest] = results;
    const panels = rest.slice(0, panelBy.length);
    const [goals, funnel] = rest.slice(panelBy.length);
    if (summary.status === 'fulfilled') q.events = summary.value.events;
    else if (stats.status === 'fulfilled' && !filtered) q.events = stats.value.total_views;
    q.empty = q.events === 0;
    if (summary.status === 'fulfilled') showSummary(summary.value);
    else {
      showSummary(null);
      failed(summary.reason, 'cards-msg');
    }
    // A click on a figure while this query was asked for draws the chart itself.
    if (chartOf === metric) {
      if (ts.status === 'fulfilled') showSeries(ts.value, interval, chartOf, q.events);
      else {
        showSeries({points: []}, interval, chartOf, q.events);
        failed(ts.reason, 'chart-msg');
      }
    }
    if (stats.status === 'fulfilled') {
      // Filtered: /stats/breakdown?by=path's values; else /stats's top_paths.
      const top = filtered ? stats.value.values
        : (stats.value.top_paths || []).map((p) => ({value: p.path, views: p.views}));
      showBreakdown({values: Array.isArray(top) ? top : []}, false, '#paths', 'paths-msg',
                    'No paths in this range', 'path');
      offer('funnel-pages', (Array.isArray(top) ? top : []).map((p) => String(p.value)));
    } else {
      fillRows('#paths', []);
      offer('funnel-pages', []);
      failed(stats.reason, 'paths-msg');
    }
    if (types.status === 'fulfilled') {
      showBreakdown(types.value, true, '#types', 'types-msg', 'No events in this range',
                    'event_type');
    } else {
      fillRows('#types', []);
      failed(types.reason, 'types-msg');
    }
    for (const [r, table] of [[entry, 'entry'], [exit, 'exit']]) {
      if (r.status === 'fulfilled') showPages(r.value, '#' + table, table + '-msg', table + '_page');
      else {
        fillRows('#' + table, []);
        failed(r.reason, table + '-msg');
      }
    }
    for (const [i, p] of Object.keys(PANELS).entries()) {
      if (tabs[p] !== panelBy[i]) continue; // another tab picked meanwhile: loadPanel shows it
      $(p).removeAttribute('aria-busy');
      if (panels[i].status === 'fulfilled') showPanel(p, panels[i].value, panelBy[i]);
      else {
        fillRows('#' + p, []);
        failed(panels[i].reason, p + '-msg');
      }
    }
    if (goals.status === 'fulfilled') showGoals(goals.value);
    else {
      fillRows('#goals', []);
      offer('funnel-goals', []);
      failed(goals.reason, 'goals-msg');
    }
    // Steps typed while this query was asked for show their own funnel (loadFunnel).
    if (funnelOf === funnelGen) {
      if (!funnel) showFunnel(null, '');
      else if (funnel.status === 'fulfilled') showFunnel(funnel.value, q.funnel);
      else {
        showFunnel({steps: []}, q.funnel);
        failed(funnel.reason, 'funnel-msg');
      }
    }
    if (errors.length) setStatus('Some figures could not be shown: see below.', true);
    else setStatus('', false);
    setState(errors.length ? 'error' : 'ready');
    if (!feedPaused) loadLive();
  }

  // -- wiring --------------------------------------------------------------------------
  function init() {
    readAddress();
    if (!$('range').value) $('range').value = 'today';
    $('custom').hidden = $('range').value !== 'custom';
    $('range').addEventListener('change', () => {
      $('custom').hidden = $('range').value !== 'custom';
      if ($('range').value !== 'custom') load();
    });
    $('query').addEventListener('submit', (ev) => {
      ev.preventDefault();
      load();
    });
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      token = $('token').value.trim();
      $('token').value = '';
      sessionStorage.setItem(TOKEN_KEY, token);
      $('token-form').hidden = true;
      load();
    });
    $('pause').addEventListener('click', togglePause);
    $('funnel-add').addEventListener('click', () => {
      $('funnel-steps').append(stepRow('path', ''));
      numberSteps();
      $('funnel-steps').lastElementChild.querySelector('input').focus();
    });
    $('funnel-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      loadFunnel();
    });
    // A click on a row of a table (its button, or anywhere on the row) filters on its value.
    for (const t of document.querySelectorAll('table[data-filters] tbody')) {
      t.addEventListener('click', (ev) => {
        const tr = ev.target.closest('tr.filterable');
        if (tr) addFilter(tr.dataset.dimension, tr.dataset.value);
      });
    }
    for (const b of document.querySelectorAll('[data-panel] [role="tab"]')) {
      const panel = b.closest('[data-panel]').dataset.panel;
      b.addEventListener('click', () => {
        if (tabs[panel] !== b.dataset.by) loadPanel(panel, b.dataset.by);
      });
      // Left and right arrows (Home, End) pick the tab before or after, as ARIA's tabs do.
      b.addEventListener('keydown', (ev) => {
        const list = PANELS[panel];
        const i = list.indexOf(tabs[panel]);
        const to = {ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: list.length - 1}[ev.key];
        if (to === undefined) return;
        ev.preventDefault();
        const by = list[(to + list.length) % list.length];
        loadPanel(panel, by);
        b.parentNode.querySelector(`[data-by="${by}"]`).focus();
      });
    }
    // The back and forward buttons: the view of that address (its filters, mostly).
    window.addEventListener('popstate', () => {
      readAddress();
      $('custom').hidden = $('range').value !== 'custom';
      if ($('site').value) load();
    });
    for (const b of document.querySelectorAll('.fig')) {
      b.addEventListener('click', () => loadChart(b.dataset.metric));
    }
    let resizeTimer = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        if (chart) chart.setSize({width: Math.max(200, $('chart').clientWidth), height: 220});
      }, 100);
    });
    if ($('site').value) load();
  }

  if (typeof uPlot !== 'function') {
    setStatus('The chart library did not load: reload the page.', true);
    return;
  }
  init();
})();
