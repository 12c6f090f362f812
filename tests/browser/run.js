// run.js - what the browser case scripts (cases.js, dashboard.js) share: their environment,
// and running one case, named on the command line, in headless Chromium (Debian's) driven
// by playwright-core. A case that ends prints "done"; one that throws prints the error and
// exits 1.
'use strict';
const {chromium} = require('playwright-core');

// The value of environment variable k, which must be set.
exports.env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};

// Run cases[process.argv[2]](browser). With keepOpen the browser stays open after "done"
// (a beacon sent as a page closes still goes out) until SIGTERM; else it is closed first.
exports.main = (cases, {keepOpen = false} = {}) => {
  (async () => {
    const name = process.argv[2];
    if (!cases[name]) throw new Error(`no case ${name}; cases: ${Object.keys(cases).join(', ')}`);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    process.on('SIGTERM', () => browser.close().then(() => process.exit(0)));
    try {
      await cases[name](browser);
    } finally {
      if (!keepOpen) await browser.close();
    }
    console.log('done');
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
};
