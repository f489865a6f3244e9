// Opens a tidemark HTML report in Debian's Chromium through playwright-core and drives it like a
// user: real mouse clicks, hovers and typing. Prints one line per failed check and exits 1, or one
// summary line and exits 0.
// Usage: node report_in_chromium.mjs REPORT.html [--dates N] [--summary SUMMARY.json] [--svg FLAME.svg]
//   --dates N: the timeline must have exactly N simulated-date hover bands.
//   --summary: `tidemark summary --json` of the same trace: the page's diagnosis must be its diagnosis.
//   --svg: a standalone flamegraph (tidemark flamegraph) whose zoom is checked on every frame too.
//   --baseline-top NAME: a report made with --baseline: NAME tops the sites that changed, grew,
//     and its frame in the differential flamegraph is red.
//   --threads SUMMARY.json: a report of a program with several threads: choosing each thread of
//     the summary draws that thread's flamegraphs (its allocated bytes), and a frame clicked after
//     the redraw still opens its callers table.
//   --range-leak NAME:BYTES: the program leaks BYTES in NAME at the start of every simulated day:
//     a range picked by two dates holds that many bytes per day begun inside it.
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
let summaryPath = null;
let svgPath = null;
let baselineTop = null;
let rangeLeak = null;
let threadsSummaryPath = null;
for (let i = 0; i < argv.length; ++i) {
  if (argv[i] === '--threads') {
    threadsSummaryPath = argv[++i];
  } else if (argv[i] === '--summary') {
    summaryPath = argv[++i];
  } else if (argv[i] === '--range-leak') {
    const [name, bytes] = argv[++i].split(':');
    rangeLeak = { name, bytes: Number(bytes) };
  } else if (argv[i] === '--baseline-top') {
    baselineTop = argv[++i];
  } else if (argv[i] === '--svg') {
    svgPath = argv[++i];
  } else if (argv[i] === '--dates') {
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
    const svgUrl = svgPath === null ? null : pathToFileURL(path.resolve(svgPath)).href;
    if (r.url() !== reportUrl && r.url() !== svgUrl && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });

  // A step that throws (a locator that never appears, a click that cannot land) is one failed
  // check; the steps after it still run.
  async function step(name, body) {
    // A report of the threads program is checked for its threads alone (it has no dates, findings or sources).
    if (threadsSummaryPath !== null && name !== 'load' && name !== 'threads') return;
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

  // The diagnosis leads: the first heading of the page's content, and the same lines, in the same
  // order, as the summary's JSON.
  await step('diagnosis', async () => {
    const first = await page.locator('h2').first().textContent();
    check('diagnosis', first === 'Diagnosis', `the first section is "${first}", not "Diagnosis"`);
    const box = await page.locator('#diagnosis').boundingBox();
    check('diagnosis', box !== null && box.y < 400, `the diagnosis starts ${box && box.y} px down, not on the first screen`);
    const shown = await page.locator('#diagnosis li').evaluateAll((lis) => lis.map((li) => ({
      kind: li.getAttribute('data-kind'), headline: li.querySelector('b').textContent })));
    facts.diagnosis = shown.map((l) => l.kind).join(', ');
    check('diagnosis', shown.length > 0, 'the diagnosis has no lines');
    if (summaryPath !== null) {
      const expected = JSON.parse(readFileSync(summaryPath, 'utf8')).diagnosis.map((l) => ({ kind: l.kind, headline: l.headline }));
      check('diagnosis', JSON.stringify(shown) === JSON.stringify(expected),
            `the page's diagnosis ${JSON.stringify(shown)} is not the summary's ${JSON.stringify(expected)}`);
    }
    // Only problems are numbered (as the text numbers them); what was looked at and found healthy is not.
    const numbered = await page.locator('#diagnosis ol li').evaluateAll((lis) => lis.map((li) => li.className + ' ' + li.getAttribute('data-kind')));
    const unnumbered = await page.locator('#diagnosis ul li').evaluateAll((lis) => lis.map((li) => li.className));
    check('diagnosis', numbered.every((c) => c.startsWith('problem') || c.endsWith('no-problem')) && !unnumbered.includes('problem'),
          `numbered: ${numbered.join(', ')}; unnumbered: ${unnumbered.join(', ')}`);
    // Each line's evidence links lead to a section of the page.
    const broken = await page.locator('#diagnosis a').evaluateAll((as) => as.map((a) => a.getAttribute('href'))
      .filter((h) => !document.getElementById(h.substring(1))));
    check('diagnosis', broken.length === 0, `evidence links without their section: ${broken.join(', ')}`);
  });

  // Axes: round times along the bottom, left to right; the legend's swatches in the colours of
  // the lines they name; with date markers, a simulated-date axis in calendar order.
  await step('timeline axes', async () => {
    const ticks = await page.locator('#timeline text.time-tick').evaluateAll((ts) => ts.map((t) => ({
      x: Number(t.getAttribute('x')), text: t.textContent })));
    facts.timeTicks = ticks.map((t) => t.text).join(' ');
    check('timeline axes', ticks.length >= 3 && ticks.every((t, i) => i === 0 || t.x > ticks[i - 1].x),
          `time ticks ${JSON.stringify(ticks)}: fewer than 3, or not left to right`);
    // No time label runs past its chart's edge (the last one, centred on the right edge, was cut).
    const cut = await page.locator('svg text.time-tick').evaluateAll((ts) => ts.filter((t) => {
      const box = t.getBBox();
      return box.x < 0 || box.x + box.width > t.ownerSVGElement.viewBox.baseVal.width + 0.5;
    }).map((t) => `${t.ownerSVGElement.id}: ${t.textContent}`));
    check('timeline axes', cut.length === 0, `time labels past their chart's edge: ${cut.join(', ')}`);
    // No finding's label covers another's (plateaus of one level end at one spot), nor the peak's.
    const labels = await page.locator('#timeline text.finding-label, #timeline #peak-label').evaluateAll((ts) => ts.map((t) => {
      const box = t.getBBox();
      return { text: t.textContent, x: box.x, y: box.y, w: box.width, h: box.height };
    }));
    const covered = labels.flatMap((a, i) => labels.slice(i + 1).filter((b) =>
      a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h).map((b) => `${a.text} / ${b.text}`));
    check('timeline axes', covered.length === 0, `finding labels that cover each other: ${covered.join(', ')}`);
    const swatches = await page.locator('#timeline g.legend rect').evaluateAll((rs) => rs.map((r) => r.getAttribute('fill')));
    const strokes = [await page.locator('#rss-line').getAttribute('stroke'), await page.locator('#heap-line').getAttribute('stroke')];
    check('timeline axes', swatches[0] === strokes[0] && swatches[1] === strokes[1],
          `legend swatches ${swatches} are not the RSS and heap lines' colours ${strokes}`);
    // After those, a swatch for each kind of finding drawn, and none for a kind that is not.
    const findingStrokes = await page.locator('#timeline g.finding line').evaluateAll((ls) => ls.map((l) => l.getAttribute('stroke')));
    const drawnKinds = [...new Set(findingStrokes)].sort().join(' ');
    const findingSwatches = swatches.slice(2).sort().join(' ');
    check('timeline axes', drawnKinds === findingSwatches,
          `the legend names findings in ${findingSwatches || 'no colour'}, the timeline draws them in ${drawnKinds || 'none'}`);
    const legendFill = await page.locator('#timeline text.legend-text').first().evaluate((t) => getComputedStyle(t).fill);
    const bodyColour = await page.evaluate(() => getComputedStyle(document.body).color);
    check('timeline axes', legendFill === bodyColour, `the legend's text is ${legendFill}, not the page's ${bodyColour}`);
    if (expectedDates !== null) {
      const dates = await page.locator('#timeline text.date-tick').allTextContents();
      facts.dateTicks = dates.join(' ');
      check('timeline axes', dates.length >= 2 && dates.every((d, i) => /^\d{4}(-\d{2})?$/.test(d) && (i === 0 || d > dates[i - 1])),
            `simulated-date ticks ${JSON.stringify(dates)}: fewer than 2, not YYYY[-MM], or not in calendar order`);
    }
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
    const n = await page.locator('.flame svg.flamegraph').count();
    check('flamegraphs', n === 5, `expected 5 svg.flamegraph under the tabs, found ${n}`);
    for (const id of ['peak', 'leaked', 'allocated', 'temporary', 'callers']) {
      const k = await page.locator(`#flame-${id} svg.flamegraph`).count();
      check('flamegraphs', k === 1, `#flame-${id} holds ${k} svg.flamegraph, expected 1`);
    }
    const frames = await peak.locator('g.f').count();
    facts.peakFrames = frames;
    check('flamegraphs', frames > 5, `the peak flamegraph has ${frames} frames (g.f), expected more than 5`);
    check('flamegraphs', await peak.isVisible(), 'the peak flamegraph is not shown at load');
    for (const id of ['leaked', 'allocated', 'temporary', 'callers'])
      check('flamegraphs', !(await page.locator(`#flame-${id}`).isVisible()), `#flame-${id} is shown before its tab is clicked`);
    // The callers view is the peak's stacks turned over: the same total, the allocating functions
    // at its root's children.
    const totals = await page.evaluate(() => ['peak', 'callers'].map((id) =>
      document.querySelector(`#flame-${id} svg.flamegraph`).getAttribute('data-total')));
    check('flamegraphs', totals[0] === totals[1], `the callers view holds ${totals[1]} bytes, the peak ${totals[0]}`);
  });

  // A frame at depth 2 or deeper that is wide enough to click and narrower than the full width, so that the
  // zoom has something to do.
  const targetIndex = await peak.locator('g.f').evaluateAll((gs) => gs.findIndex((g) => {
    const w = parseFloat(g.querySelector('rect').getAttribute('width'));
    return Number(g.getAttribute('data-depth')) >= 2 && w >= 4 && w < 1170;
  })).catch(() => -1);
  const target = peak.locator('g.f').nth(targetIndex);

  await step('frame hover', async () => {
    if (!check('frame hover', targetIndex >= 0, 'no frame at depth 2 or deeper 4 to 1170 pixels wide in the peak flamegraph')) return;
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
    // Its callers and callees: every byte of the function comes through a caller, and its callees
    // hold no more than it does.
    const table = await page.locator('#callers-table tr').evaluateAll((trs) => trs.map((tr) => ({
      kind: tr.className, bytes: Number(tr.getAttribute('data-bytes')) })));
    const total = table.filter((r) => r.kind === 'function').reduce((a, r) => a + r.bytes, 0);
    const callers = table.filter((r) => r.kind === 'caller').reduce((a, r) => a + r.bytes, 0);
    const callees = table.filter((r) => r.kind === 'callee').reduce((a, r) => a + r.bytes, 0);
    facts.callers = `${name}: ${total} bytes, callers ${callers}, callees ${callees}`;
    check('callers', total >= bytes && callers === total && callees <= total,
          `callers table of ${name}: ${total} bytes (its frame ${bytes}), callers ${callers}, callees ${callees}`);
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

  // A zoom on any frame keeps every frame inside it visible: exact containment, whatever the
  // widths. Each flamegraph of the page (and the standalone SVG), every frame clicked.
  async function zoomEveryFrame(name) {
    const bad = await page.evaluate(() => {
      const out = [];
      let clicks = 0;
      document.querySelectorAll('svg.flamegraph').forEach((svg) => {
        const frames = Array.from(svg.querySelectorAll('g.f')).map((g) => ({
          g, x: Number(g.getAttribute('data-x')), w: Number(g.getAttribute('data-w')), d: Number(g.getAttribute('data-depth')) }));
        for (const t of frames) {
          t.g.dispatchEvent(new MouseEvent('click', { bubbles: true }));
          ++clicks;
          for (const f of frames) {
            if (f.d <= t.d || f.x < t.x || f.x + f.w > t.x + t.w) continue;
            const width = Number(f.g.querySelector('rect').getAttribute('width'));
            if (f.g.classList.contains('hidden') || !(width > 0))
              out.push(`${f.g.getAttribute('data-name')} inside ${t.g.getAttribute('data-name')}`);
          }
        }
        svg.querySelector('.reset').dispatchEvent(new MouseEvent('click', { bubbles: true }));
      });
      return { clicks, hidden: out.slice(0, 5), count: out.length };
    });
    facts.zoomClicks = (facts.zoomClicks || 0) + bad.clicks;
    check(name, bad.clicks > 0, 'no frame to click');
    check(name, bad.count === 0, `${bad.count} frames hidden by a zoom on a frame that holds them: ${bad.hidden.join('; ')}`);
  }
  // A range of the run: dragged on the timeline, the view follows; picked by two dates, the bytes
  // of a leak of known size per day are the days begun inside it times that size.
  await step('range', async () => {
    const flame = page.locator('#range-flame svg.flamegraph');
    check('range', await flame.count() === 1, 'no range flamegraph under the timeline');
    await page.locator('#timeline').scrollIntoViewIfNeeded();
    const box = await page.locator('#timeline').boundingBox();
    const left = Number(await page.locator('#timeline').getAttribute('data-left'));
    const right = Number(await page.locator('#timeline').getAttribute('data-right'));
    const tEnd = Number(await page.locator('#timeline').getAttribute('data-t-end'));
    const scale = box.width / 1100;
    const xAt = (share) => box.x + (left + (right - left) * share) * scale;
    await page.mouse.move(xAt(0.25), box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(xAt(0.5), box.y + box.height / 2, { steps: 4 });
    await page.mouse.move(xAt(0.75), box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    const from = Number(await flame.getAttribute('data-from')), to = Number(await flame.getAttribute('data-to'));
    const moments = await page.evaluate(() => window.tidemarkRange.moments.length);
    const slack = tEnd / (moments - 1) * 1.01;  // a range snaps to the nearest moments
    check('range', Math.abs(from - 0.25 * tEnd) <= slack && Math.abs(to - 0.75 * tEnd) <= slack,
          `dragging from 25% to 75% of ${tEnd} ns selected ${from} to ${to} ns`);
    facts.range = `drag ${(from / tEnd * 100).toFixed(0)}%-${(to / tEnd * 100).toFixed(0)}%`;
    if (rangeLeak === null) return;
    const dates = await page.evaluate(() => JSON.parse(document.getElementById('range-data').textContent).dates);
    const a = Math.floor(dates.length / 4), b = Math.floor(dates.length * 3 / 4);
    await page.locator('#range-from').selectOption({ index: a });
    await page.locator('#range-to').selectOption({ index: b });
    for (const view of ['allocated', 'grown', 'live']) {
      await page.locator(`#range-tabs button[data-view="${view}"]`).click();
      const svg = page.locator('#range-flame svg.flamegraph');
      const [f, t] = [Number(await svg.getAttribute('data-from')), Number(await svg.getAttribute('data-to'))];
      const shown = await svg.evaluate((el, name) => Array.from(el.querySelectorAll('g.f'))
        .filter((g) => g.getAttribute('data-name').endsWith(name)).reduce((sum, g) => sum + Number(g.getAttribute('data-w')), 0), rangeLeak.name);
      // Days begun inside the range (all of them for "live": the leak is never freed).
      const days = dates.filter((d) => d[1] <= t && (view === 'live' || d[1] > f)).length;
      const perDay = shown / rangeLeak.bytes;
      check('range', Number.isInteger(perDay) && Math.abs(perDay - days) <= 1,
            `${view} from ${f} to ${t} ns: ${rangeLeak.name} holds ${shown} bytes, ${perDay} days of ${rangeLeak.bytes}, ` +
            `but ${days} simulated days begin in the range`);
      facts.range += `, ${view} ${perDay} days (${days} begun)`;
    }
  });

  await step('zoom on every frame', async () => zoomEveryFrame('zoom on every frame'));

  if (baselineTop !== null) {
    await step('baseline', async () => {
      const first = page.locator('#baseline-sites tr[data-peak-change]').first();
      const change = Number(await first.getAttribute('data-peak-change'));
      const site = await first.locator('td[title]').getAttribute('title');
      check('baseline', change > 0 && site.includes(baselineTop), `the top changed site is ${site} (${change} bytes), not ${baselineTop} grown`);
      const frame = page.locator(`#flame-baseline g.f[data-name$="${baselineTop}"]`).first();
      const fill = await frame.locator('rect').evaluate((r) => getComputedStyle(r).fill);
      const [r, g, b] = fill.match(/\d+/g).map(Number);
      check('baseline', r === 255 && g < 255 && b < 255, `${baselineTop}'s frame in the differential flamegraph is ${fill}, not red`);
      facts.baseline = `${baselineTop} +${change} bytes, ${fill}`;
      const series = await page.locator('#baseline-timeline polyline.series').count();
      check('baseline', series === 4, `${series} series on the timelines side by side, expected 4 (RSS and heap of each run)`);
    });
  }

  await step('tabs', async () => {
    await page.locator('#tab-allocated').click();
    const on = (sel) => page.locator(sel).evaluate((el) => el.classList.contains('on'));
    check('tabs', await on('#flame-allocated'), 'clicking #tab-allocated does not give #flame-allocated the class "on"');
    check('tabs', await on('#tab-allocated'), 'clicking #tab-allocated does not mark the tab "on"');
    check('tabs', !(await on('#flame-peak')) && !(await on('#tab-peak')), 'the peak tab and flamegraph stay "on"');
    check('tabs', await page.locator('#flame-allocated svg.flamegraph').isVisible(), 'the allocated flamegraph is not shown');
    check('tabs', !(await page.locator('#flame-peak').isVisible()), 'the peak flamegraph is still shown');
  });

  if (threadsSummaryPath !== null) {
    await step('threads', async () => {
      const threads = JSON.parse(readFileSync(threadsSummaryPath, 'utf8')).threads;
      const options = await page.locator('#flame-thread option').count();
      if (!check('threads', options === Math.min(threads.length, 8) + 1,
                 `the thread choice has ${options} options for ${threads.length} threads`)) return;
      const total = (id) => page.locator(`#flame-${id} svg.flamegraph`).getAttribute('data-total').then(Number);
      for (let i = 1; i !== options; ++i) {
        await page.locator('#flame-thread').selectOption(String(i));
        const drawn = await page.locator('#flame-allocated svg.flamegraph').count();
        check('threads', drawn === 1, `after choosing thread ${i}, #flame-allocated holds ${drawn} flamegraphs`);
        const shown = await total('allocated');
        check('threads', shown === threads[i - 1].allocated_bytes,
              `thread ${threads[i - 1].tid}'s allocated flamegraph holds ${shown} bytes, the summary says ${threads[i - 1].allocated_bytes}`);
      }
      // A frame of the redrawn flamegraph still answers a click.
      await page.locator('#tab-allocated').click();
      const frame = page.locator('#flame-allocated svg.flamegraph g.f[data-depth="1"]').first();
      await frame.locator('rect').click();
      const callers = await page.locator('#callers-table').getAttribute('data-total').then(Number);
      check('threads', callers > 0, `clicking a frame after the redraw gives a callers table of ${callers} bytes`);
      await page.locator('#flame-thread').selectOption('0');
      const every = await total('allocated');
      const sum = threads.reduce((a, t) => a + t.allocated_bytes, 0);
      check('threads', every === sum, `every thread's allocated flamegraph holds ${every} bytes, the threads ${sum}`);
      facts.threads = `${options - 1} threads chosen and drawn`;
    });
  }

  if (svgPath !== null) {
    await step('standalone svg', async () => {
      await page.goto(pathToFileURL(path.resolve(svgPath)).href, { waitUntil: 'load' });
      await zoomEveryFrame('standalone svg');
    });
  }

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
            (facts.baseline ? `baseline: ${facts.baseline}, ` : '') + (facts.threads ? `threads: ${facts.threads}, ` : '') + `range: ${facts.range}, ` + `diagnosis [${facts.diagnosis}], time ticks ${facts.timeTicks}, date ticks ${facts.dateTicks}, ` +
            `zoom on every frame (${facts.zoomClicks} clicks) keeps its children, ` +
            `2 series, ${facts.findings} growth findings drawn, ${facts.dates} date bands (${facts.firstDate} to ${facts.lastDate}), 5 flamegraphs, ` +
            `${facts.peakFrames} frames at the peak, zoom hides ${facts.hidden}, line view of ${facts.lineFunction} (${facts.lineRows} lines), ` +
            `callers table ${facts.callers}, search "${SEARCH}" marks ${facts.matches}, ` +
            'tabs switch, no console errors');
