// Screenshots of tidemark reports for the docs (docs/images/), at 1280 x 1000 in Debian's Chromium:
//   node screenshots.mjs REPORT.html OUT.png [REPORT.html OUT.png ...]
// docs/reports.md says which runs the committed ones show.
import { chromium } from 'playwright-core';
const pairs = process.argv.slice(2);
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless'] });
for (let i = 0; i < pairs.length; i += 2) {
  const p = await b.newPage({ viewport: { width: 1280, height: 1000 } });
  await p.goto('file://' + pairs[i]);
  await p.screenshot({ path: pairs[i + 1] });
  await p.close();
}
await b.close();
