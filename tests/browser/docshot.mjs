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
