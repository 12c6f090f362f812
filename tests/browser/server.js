// server.js - the other origin of the browser tests (it_browser.sh): test pages that load
// the tracker from ingest, or a proxy in front of ingest that fails on purpose.
//
//   node server.js pages          GET /page/<anything>?site=&tracker=<origin>[&capture=][&storage=]
//                                 [&dnt=1][&tall=1][&private=1]: a page with the one-line
//                                 snippet (private: with a list box, a multiple select and
//                                 an editable element, each inside or beside [data-analytics],
//                                 and a button holding a script)
//   node server.js proxy TARGET N [STATUS[,STATUS...] [RETRY_AFTER]]
//                                 forwards everything to TARGET (an origin), but answers the
//                                 first N POST /events itself: 503, or the STATUSes in turn,
//                                 with a Retry-After of RETRY_AFTER seconds when given; with
//                                 FORWARDED_FOR in the environment, adds X-Forwarded-For:
//                                 $FORWARDED_FOR to each request (a visitor's address, for
//                                 ingest with TRUST_PROXY=1)
//
// Listens on a free port of 127.0.0.1 and prints "listening on 127.0.0.1:<port>"; the
// proxy prints "POST /events <status> <event_id,...>" for each batch it sees.
'use strict';
const http = require('http');

const [mode, target, failFirst, failStatuses = '503', retryAfter] = process.argv.slice(2);
const failStatus = failStatuses.split(',').map(Number);

function page(req, res) {
  const u = new URL(req.url, 'http://x');
  const q = (k) => (u.searchParams.get(k) || '').replace(/[^\w.,:\/ -]/g, '');
  if (!u.pathname.startsWith('/page/')) {
    res.writeHead(404).end();
    return;
  }
  const capture = q('capture') ? ` data-capture="${q('capture')}"` : '';
  const dnt = q('dnt') ? ' data-respect-dnt' : '';
  const storage = q('storage') ? ` data-storage="${q('storage')}"` : '';
  // What a visitor chooses or types here must never leave the page (README: never collected).
  const secrets = q('private') ? `<label>Card <select id="card" size="3">
  <option>secret-card-visa-4242</option><option id="secret-option-id">secret-card-amex-0005</option>
</select></label>
<div id="pay" data-analytics="payment" style="padding:20px">Payment
  <select id="extras" multiple><option>secret-choice-insurance</option><option>secret-choice-gift</option></select>
</div>
<div id="notes" data-analytics="notes" style="padding:20px">Notes
  <div id="editor" contenteditable style="min-height:2em"></div>
</div>
<button id="widget">Open<script>/* secret-script-text */</script></button>
` : '';
  res.writeHead(200, {'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store'});
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>test page</title></head>
<body style="margin:0">
<button id="signup" data-analytics="signup"><span>Sign up</span>
  now</button>
<input id="email" name="email" type="email">
<input id="agree" type="checkbox">
<div id="note" contenteditable>private note</div>
${secrets}<div style="height:${q('tall') ? 4000 : 0}px"></div>
<script defer src="${q('tracker')}/tracker.js" data-site-id="${q('site')}"${capture}${dnt}${storage}></script>
</body></html>
`);
}

let failed = 0;
function proxy(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const batch = req.method === 'POST' && req.url === '/events';
    const log = (status) => {
      if (!batch) return;
      let ids = '?';
      try {
        ids = JSON.parse(body).events.map((e) => e.event_id).join(',');
      } catch (e) {}
      console.log(`POST /events ${status} ${ids}`);
    };
    if (batch && failed < Number(failFirst)) {
      const status = failStatus[failed++ % failStatus.length];
      log(status);
      // Connection: close, so that the next request comes on a new connection: Chromium
      // itself resends a request answered 408 on a reused one, and the page would never see it.
      const h = {'Content-Type': 'application/json', 'Access-Control-Allow-Origin': req.headers.origin || '*',
                 'Access-Control-Expose-Headers': 'Retry-After', 'Connection': 'close'};
      if (retryAfter) h['Retry-After'] = retryAfter;
      res.writeHead(status, h);
      res.end('{"status":"error","message":"failed on purpose by the test proxy"}');
      return;
    }
    const t = new URL(target);
    const headers = Object.assign({}, req.headers, {host: t.host, connection: 'close'});
    if (process.env.FORWARDED_FOR) headers['x-forwarded-for'] = process.env.FORWARDED_FOR;
    // A connection of its own per request (agent: false): a kept-alive one that sat idle as
    // long as ingest's KEEP_ALIVE_TIMEOUT_MS can be closed by ingest as it is reused (the
    // race README's proxy advice is about), and the test would see that as a 502.
    const up = http.request({host: t.hostname, port: t.port, method: req.method, path: req.url,
                             headers, agent: false}, (r) => {
      log(r.statusCode);
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => {
      log(502);
      res.writeHead(502).end();
    });
    up.end(body);
  });
}

if (mode !== 'pages' && !(mode === 'proxy' && target && failFirst)) {
  console.error('usage: node server.js pages | proxy TARGET-ORIGIN FAIL-FIRST-N [STATUS[,STATUS...] [RETRY-AFTER]]');
  process.exit(2);
}
const srv = http.createServer(mode === 'pages' ? page : proxy);
srv.listen(0, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${srv.address().port}`));
process.on('SIGTERM', () => {
  srv.close(() => process.exit(0));
  srv.closeAllConnections();
});
