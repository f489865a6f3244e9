// Opens a tidemark HTML report in Debian's Chromium through playwright-core and drives it like a
// user: real mouse clicks, hovers and typing. Prints one line per failed check and exits 1, or one
// summary line and exits 0.
// Usage: node report_in_chromium.mjs REPORT.html [--dates N]
//   --dates N: the timeline must have exactly N simulated-date hover bands.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const FLAME_WIDTH = 1180;  // FlameOptions::width 1200 less 2 * 10 of padding
const SEARCH = 'main';     // a frame name every native program's stacks hold

function usage(message) {
  console.error(`report_in_chromium.mjs: ${message}`);
  console.error('usage: node report_in_chromium.mjs REPORT.html [--dates N]');
  process.exit(2);
}

const argv = process.argv.slice(2);
let reportPath = null;
let expectedDates = null;
for (let i = 0; i < argv.length; ++i) {
  if (argv[i] === '--dates') {
    expectedDates = Number(argv[++i]);
    if (!Number.isInteger(expectedDates) || expectedDates < 1) usage('--dates needs a positive whole number');
  } else if (reportPath === null) {
    reportPath = argv[i];
  } else {
    usage(`unexpected argument ${argv[i]}`);
  }
}
if (reportPath === null) usage('no report given');
if (!existsSync(reportPath)) usage(`${reportPath} does not exist`);
if (!existsSync(CHROMIUM)) usage(`${CHROMIUM} is not installed (scripts/setup.sh installs it)`);
const reportUrl = pathToFileURL(path.resolve(reportPath)).href;
const reportName = path.basename(reportPath);

const failures = [];
function check(name, ok, detail) {
  if (!ok) failures.push(`${name}: ${detail}`);
  return ok;
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
  timeout: 60_000,
});
const facts = {};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  const consoleErrors = [];
  const pageErrors = [];
  const foreignRequests = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('request', (r) => {
    if (r.url() !== reportUrl && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });

  // A step that throws (a locator that never appears, a click that cannot land) is one failed
  // check; the steps after it still run.
  async function step(name, body) {
    try {
      await body();
    } catch (e) {
      failures.push(`${name}: ${String(e.message).split('\n')[0]}`);
    }
  }

  await step('load', async () => {
    const response = await page.goto(reportUrl, { waitUntil: 'load' });
    check('load', response === null || response.ok(), `${reportUrl} answered ${response && response.status()}`);
  });

  await step('timeline', async () => {
    const series = page.locator('#timeline polyline.series');
    const n = await series.count();
    if (!check('timeline', n === 2, `expected 2 polyline.series (RSS and heap) in #timeline, found ${n}`)) return;
    for (const id of ['rss-line', 'heap-line']) {
      const points = ((await page.locator(`#timeline #${id}`).getAttribute('points')) || '').trim().split(/\s+/);
      check('timeline', points.length >= 2 && points.every((p) => /^-?[\d.]+,-?[\d.]+$/.test(p)),
            `#${id} has ${points.length} points, or points that are not x,y pairs`);
    }
    // Growth findings drawn on the timeline: one g.finding per unbounded, plateau or periodic row
    // of the findings table, each rendered (a box with a size) and titled with its site.
    const rows = await page.locator('#findings tr td:nth-child(2)').allTextContents();
    const drawn = rows.filter((v) => ['unbounded growth', 'plateau', 'periodic'].includes(v)).length;
    const marks = page.locator('#timeline g.finding');
    const nMarks = await marks.count();
    facts.findings = nMarks;
    check('timeline', nMarks === drawn && drawn > 0, `${nMarks} growth findings drawn on the timeline, ${drawn} in the findings table`);
    for (let i = 0; i < nMarks; ++i) {
      const b = await marks.nth(i).boundingBox();
      const title = await marks.nth(i).locator('title').textContent();
      check('timeline', b !== null && (b.width > 0 || b.height > 0), `finding ${i} (${title}) is not drawn`);
    }
    const box = await page.locator('#timeline').boundingBox();
    check('timeline', box !== null && box.width > 1000 && box.height > 200,
          `#timeline is not drawn at its size (box ${JSON.stringify(box)})`);
  });

  // The timeline's hover: one transparent band per simulated date, whose <title> is the browser's
  // tooltip "simulated YYYY-MM-DD (at T)". Hover the first and the last band with the mouse.
  await step('timeline hover', async () => {
    const bands = page.locator('#timeline rect.date');
    const n = await bands.count();
    facts.dates = n;
    if (expectedDates !== null)
      check('timeline hover', n === expectedDates, `expected ${expectedDates} simulated-date bands, found ${n}`);
    if (!check('timeline hover', n > 0, 'no simulated-date bands (rect.date) in #timeline')) return;
    const seen = [];
    for (const band of [bands.first(), bands.last()]) {
      await band.hover();
      const tip = await page.evaluate(() => {
        const hovered = document.querySelectorAll('#timeline rect.date:hover');
        if (hovered.length !== 1) return `${hovered.length} bands under the mouse`;
        const title = hovered[0].querySelector('title');
        return title ? title.textContent : 'a band without a <title>';
      });
      const m = /^simulated (\d{4}-\d{2}-\d{2}) \(at [^)]+\)$/.exec(tip);
      if (!check('timeline hover', m !== null, `the hovered band's tooltip is "${tip}", not "simulated YYYY-MM-DD (at T)"`))
        return;
      seen.push(m[1]);
    }
    check('timeline hover', n === 1 || seen[0] < seen[1],
          `the first band shows ${seen[0]}, the last ${seen[1]}: dates do not advance along the timeline`);
    facts.firstDate = seen[0];
    facts.lastDate = seen[1];
  });

  const peak = page.locator('#flame-peak svg.flamegraph');
  await step('flamegraphs', async () => {
    const n = await page.locator('svg.flamegraph').count();
    check('flamegraphs', n === 3, `expected 3 svg.flamegraph, found ${n}`);
    for (const id of ['peak', 'leaked', 'allocated']) {
      const k = await page.locator(`#flame-${id} svg.flamegraph`).count();
      check('flamegraphs', k === 1, `#flame-${id} holds ${k} svg.flamegraph, expected 1`);
    }
    const frames = await peak.locator('g.f').count();
    facts.peakFrames = frames;
    check('flamegraphs', frames > 5, `the peak flamegraph has ${frames} frames (g.f), expected more than 5`);
    check('flamegraphs', await peak.isVisible(), 'the peak flamegraph is not shown at load');
    for (const id of ['leaked', 'allocated'])
      check('flamegraphs', !(await page.locator(`#flame-${id}`).isVisible()), `#flame-${id} is shown before its tab is clicked`);
  });

  // A depth-2 frame that is wide enough to click and narrower than the full width, so that the
  // zoom has something to do.
  const targetIndex = await peak.locator('g.f').evaluateAll((gs) => gs.findIndex((g) => {
    const w = parseFloat(g.querySelector('rect').getAttribute('width'));
    return g.getAttribute('data-depth') === '2' && w >= 4 && w < 1170;
  })).catch(() => -1);
  const target = peak.locator('g.f').nth(targetIndex);

  await step('frame hover', async () => {
    if (!check('frame hover', targetIndex >= 0, 'no depth-2 frame 4 to 1170 pixels wide in the peak flamegraph')) return;
    await target.locator('rect').hover();
    const title = await target.locator('title').textContent();
    const details = await peak.locator('text.details').textContent();
    check('frame hover', details === title, `hovering a frame shows "${details}" below the flamegraph, expected "${title}"`);
  });

  await step('zoom', async () => {
    if (targetIndex < 0) return;  // reported by 'frame hover'
    const name = await target.getAttribute('data-name');
    await target.locator('rect').click();
    const width = Number(await target.locator('rect').getAttribute('width'));
    check('zoom', Math.round(width) === FLAME_WIDTH, `the clicked frame ${name} is ${width} wide, expected ${FLAME_WIDTH}`);
    const hidden = await peak.locator('g.f.hidden').count();
    facts.hidden = hidden;
    check('zoom', hidden > 0, 'no frame is hidden (g.f.hidden) after the zoom');
    check('zoom', await target.isVisible(), `the clicked frame ${name} is itself hidden`);
    const root = peak.locator('g.f[data-depth="0"]');
    const rootWidth = Number(await root.locator('rect').getAttribute('width'));
    check('zoom', (await root.isVisible()) && Math.round(rootWidth) === FLAME_WIDTH,
          `the root frame (an ancestor) should stay shown at ${FLAME_WIDTH}, it is ${rootWidth} wide`);
    const zoomed = await peak.getAttribute('data-zoomed');
    check('zoom', zoomed === name, `the flamegraph says it is zoomed on "${zoomed}", expected "${name}"`);
  });

  await step('reset zoom', async () => {
    if (targetIndex < 0) return;
    await peak.locator('text.reset').click();
    const hidden = await peak.locator('g.f.hidden').count();
    check('reset zoom', hidden === 0, `after "reset zoom", ${hidden} frames are still hidden`);
    const zoomed = await peak.getAttribute('data-zoomed');
    const rootName = await peak.locator('g.f[data-depth="0"]').getAttribute('data-name');
    check('reset zoom', zoomed === rootName, `after "reset zoom" the flamegraph is zoomed on "${zoomed}", expected the root "${rootName}"`);
  });

  // The line view: a click on a frame of a function the report has lines of shows them, its
  // clicked line marked and holding at least the frame's bytes; a frame without lines says so.
  await step('line view', async () => {
    const views = await page.evaluate(() => JSON.parse(document.getElementById('line-data').textContent).files
      .map((f) => f.function + '\u001f' + f.file));
    const index = await peak.locator('g.f').evaluateAll((gs, keys) => gs.findIndex((g) => {
      const detail = g.getAttribute('data-detail') || '', colon = detail.lastIndexOf(':');
      const w = parseFloat(g.querySelector('rect').getAttribute('width'));
      return colon > 0 && w >= 4 && keys.includes(g.getAttribute('data-name') + '\u001f' + detail.substring(0, colon));
    }), views);
    if (!check('line view', index >= 0, `no frame of the ${views.length} functions with line views is 4 pixels wide`)) return;
    const frame = peak.locator('g.f').nth(index);
    const name = await frame.getAttribute('data-name'), detail = await frame.getAttribute('data-detail');
    const file = detail.substring(0, detail.lastIndexOf(':')), line = Number(detail.substring(detail.lastIndexOf(':') + 1));
    const bytes = Number(/\((\d+) bytes/.exec(await frame.locator('title').textContent())[1]);
    await frame.locator('rect').click();
    const heading = await page.locator('#lines h3').textContent();
    check('line view', heading === `${name} (${file})`, `the line view is headed "${heading}", expected "${name} (${file})"`);
    const rows = await page.locator('#line-table tr[data-line]').evaluateAll((trs) => trs.map((tr) => ({
      line: Number(tr.getAttribute('data-line')), peak: Number(tr.getAttribute('data-peak')), clicked: tr.classList.contains('clicked'),
      source: tr.querySelector('td.src').textContent,
    })));
    check('line view', rows.some((r) => r.source.trim() !== ''), 'the line view shows no source text (the report was made with --source-dir)');
    facts.lineRows = rows.length;
    facts.lineFunction = name;
    check('line view', rows.length > 0 && rows.every((r, i) => i === 0 || r.line === rows[i - 1].line + 1),
          `the line view's ${rows.length} rows are not consecutive lines`);
    const marked = rows.filter((r) => r.clicked);
    if (check('line view', marked.length === 1 && marked[0].line === line,
              `the marked rows are ${JSON.stringify(marked.map((r) => r.line))}, expected the clicked frame's line ${line}`))
      check('line view', marked[0].peak >= bytes, `line ${line} holds ${marked[0].peak} bytes at the peak, less than its frame's ${bytes}`);
    await peak.locator('g.f[data-depth="0"] rect').click();  // "all": a frame without lines
    const said = await page.locator('#lines p').first().textContent();
    check('line view', said.startsWith('No line view for this frame'), `clicking the root frame shows "${said}"`);
    await peak.locator('text.reset').click();
  });

  await step('search', async () => {
    const search = peak.locator('input.search');
    await search.click();
    await search.pressSequentially(SEARCH);
    const matched = await peak.locator('g.f.match').count();
    const expected = await peak.locator('g.f').evaluateAll(
        (gs, word) => gs.filter((g) => g.getAttribute('data-name').includes(word)).length, SEARCH);
    facts.matches = matched;
    check('search', matched > 0, `typing "${SEARCH}" highlights no frame (g.f.match)`);
    check('search', matched === expected, `typing "${SEARCH}" highlights ${matched} frames, ${expected} frames have it in their name`);
    const elsewhere = await page.locator('#flame-allocated g.f.match, #flame-leaked g.f.match').count();
    check('search', elsewhere === 0, `the peak flamegraph's search highlights ${elsewhere} frames of the other flamegraphs`);
    await search.fill('');
    const left = await peak.locator('g.f.match').count();
    check('search', left === 0, `clearing the search leaves ${left} frames highlighted`);
  });

  await step('tabs', async () => {
    await page.locator('#tab-allocated').click();
    const on = (sel) => page.locator(sel).evaluate((el) => el.classList.contains('on'));
    check('tabs', await on('#flame-allocated'), 'clicking #tab-allocated does not give #flame-allocated the class "on"');
    check('tabs', await on('#tab-allocated'), 'clicking #tab-allocated does not mark the tab "on"');
    check('tabs', !(await on('#flame-peak')) && !(await on('#tab-peak')), 'the peak tab and flamegraph stay "on"');
    check('tabs', await page.locator('#flame-allocated svg.flamegraph').isVisible(), 'the allocated flamegraph is not shown');
    check('tabs', !(await page.locator('#flame-peak').isVisible()), 'the peak flamegraph is still shown');
  });

  for (const m of consoleErrors) failures.push(`console error: ${m}`);
  for (const m of pageErrors) failures.push(`page error: ${m}`);
  for (const u of foreignRequests) failures.push(`request outside the report (it must be self-contained): ${u}`);
} finally {
  facts.version = browser.version();
  await browser.close();
}

if (failures.length) {
  for (const f of failures) console.log(`FAIL ${f}`);
  console.log(`${failures.length} check(s) failed on ${reportName} in Chromium ${facts.version}`);
  process.exit(1);
}
let playwrightVersion = '?';
try {
  playwrightVersion = JSON.parse(readFileSync(new URL('./node_modules/playwright-core/package.json', import.meta.url))).version;
} catch {}
console.log(`${reportName} renders and responds in Chromium ${facts.version} (playwright-core ${playwrightVersion}): ` +
            `2 series, ${facts.findings} growth findings drawn, ${facts.dates} date bands (${facts.firstDate} to ${facts.lastDate}), 3 flamegraphs, ` +
            `${facts.peakFrames} frames at the peak, zoom hides ${facts.hidden}, line view of ${facts.lineFunction} (${facts.lineRows} lines), ` +
            `search "${SEARCH}" marks ${facts.matches}, ` +
            'tabs switch, no console errors');
