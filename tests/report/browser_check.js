#!/usr/bin/env node
// Opens a descpipe report in headless Chromium (Debian's `chromium`, driven over the DevTools
// protocol with chrome-remote-interface from third_party/node) and checks what a person would
// see (docs/REPORT.md, "Tests"):
//   - no console error, no uncaught exception, no error in the browser's log (a blocked request
//     or a content security policy violation lands there), and no network request at all;
//   - the funnel table's numbers equal the pass JSONs' in OUTDIR, and the Pass 1 reasons
//     pass1_variance_filtering.json's;
//   - the lineage explorer prints exactly what `descpipe explain OUTDIR NAME` prints, for five
//     names (one final descriptor, one removal of each pass that removed something);
//   - the heatmap and the graph are drawn: pixels on a screenshot of each, not a blank canvas.
// Usage: browser_check.js --cli DESCPIPE --outdir OUTDIR [--report FILE] [--screenshot PNG|JPG]
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const zlib = require('zlib');
const { spawn, execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..', '..');
const CDP = require(path.join(root, 'third_party', 'node', 'node_modules', 'chrome-remote-interface'));

function parseArgs(argv) {
  const args = {};
  for (let i = 2; i < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = argv[i + 1];
  if (!args.cli || !args.outdir) {
    console.error('usage: browser_check.js --cli DESCPIPE --outdir OUTDIR [--report FILE] ' +
      '[--screenshot PNG]');
    process.exit(2);
  }
  args.report = path.resolve(args.report || path.join(args.outdir, 'report.html'));
  return args;
}

// Chromium with a DevTools port of its choosing; resolves with the process and the port.
function launchChromium(profile) {
  const binary = process.env.CHROMIUM || 'chromium';
  const child = spawn(binary, ['--headless=new', '--no-sandbox', '--disable-gpu',
    '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--remote-debugging-port=0', '--user-data-dir=' + profile, '--window-size=1400,1000',
    'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error('chromium did not start in 60 s:\n' + seen)),
      60000);
    child.stderr.on('data', (chunk) => {
      seen += chunk.toString();
      const match = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(seen);
      if (match) { clearTimeout(timer); resolve({ child, port: Number(match[1]) }); }
    });
    child.on('exit', (code) => reject(new Error('chromium exited with ' + code + ':\n' + seen)));
  });
}

// A PNG from Chromium (8-bit RGBA or RGB, not interlaced) into RGBA pixels.
function decodePng(buffer) {
  let at = 8, width = 0, height = 0, channels = 4;
  const idat = [];
  while (at < buffer.length) {
    const length = buffer.readUInt32BE(at);
    const type = buffer.toString('ascii', at + 4, at + 8);
    const body = buffer.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      if (body[8] !== 8 || body[12] !== 0) throw new Error('unexpected PNG format');
      channels = { 6: 4, 2: 3 }[body[9]];
      if (!channels) throw new Error('unexpected PNG colour type ' + body[9]);
    } else if (type === 'IDAT') idat.push(body);
    at += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(width * height * 4);
  let previous = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? line[x - channels] : 0, b = previous[x];
      const c = x >= channels ? previous[x - channels] : 0;
      let add = 0;
      if (filter === 1) add = a;
      else if (filter === 2) add = b;
      else if (filter === 3) add = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[x] = (line[x] + add) & 255;
    }
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 4; k++) {
        pixels[(y * width + x) * 4 + k] = k < channels ? line[x * channels + k] : 255;
      }
    }
    previous = line;
  }
  return { width, height, pixels };
}

// Share of pixels away from white, share of coloured pixels (axes, grid lines and titles are
// grey: only data is coloured), and the number of distinct colours (coarsely binned).
function inkOf(png) {
  let ink = 0, coloured = 0;
  const colours = new Set();
  for (let i = 0; i < png.width * png.height; i++) {
    const r = png.pixels[i * 4], g = png.pixels[i * 4 + 1], b = png.pixels[i * 4 + 2];
    if (255 * 3 - r - g - b > 12) ink++;  // the heatmap draws rho = 0 as #f7f7f7
    if (Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured++;
    colours.add((r >> 4) << 8 | (g >> 4) << 4 | b >> 4);
  }
  const n = png.width * png.height;
  return { share: ink / n, coloured: coloured / n, colours: colours.size };
}

function readJson(outdir, name) {
  return JSON.parse(fs.readFileSync(path.join(outdir, name), 'utf8'));
}

// The names the explorer is checked on: a final descriptor that stands for others, then one
// removal of each pass, in input order.
function explorerNames(outdir) {
  const lineage = readJson(outdir, 'final_cluster_info.json');
  const names = [];
  const hub = lineage.final.find((f) => f.stands_for.length > 0) || lineage.final[0];
  if (hub) names.push(hub.column);
  for (const pass of [1, 2, 3, 4]) {
    const entry = Object.values(lineage.removed).find((r) => r.pass === pass);
    if (entry) names.push(entry.column);
  }
  for (const f of lineage.final) {
    if (names.length >= 5) break;
    if (!names.includes(f.column)) names.push(f.column);
  }
  return names.slice(0, 5);
}

async function main() {
  const args = parseArgs(process.argv);
  const failures = [];
  const fail = (message) => { failures.push(message); console.error('FAIL: ' + message); };
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'descpipe-chromium-'));
  const { child, port } = await launchChromium(profile);
  let client;
  try {
    client = await CDP({ port });
    const { Network, Page, Runtime, Log, Emulation } = client;
    const reportUrl = 'file://' + args.report;
    Network.requestWillBeSent(({ request }) => {
      const url = request.url;
      if (url === reportUrl || url.startsWith('data:') || url.startsWith('blob:') ||
          url === 'about:blank') return;
      fail('network request: ' + url);
    });
    Runtime.consoleAPICalled(({ type, args: values }) => {
      const line = values.map((v) => v.value !== undefined ? String(v.value) : v.description)
        .join(' ');
      if (type === 'error' || type === 'assert') fail('console ' + type + ': ' + line);
      else if (type === 'warning') console.error('console warning: ' + line);
    });
    Runtime.exceptionThrown(({ exceptionDetails }) => fail('uncaught exception: ' +
      (exceptionDetails.exception ? exceptionDetails.exception.description : exceptionDetails.text)));
    Log.entryAdded(({ entry }) => {
      if (entry.level === 'error') fail('browser log error: ' + entry.text + ' ' + (entry.url || ''));
    });
    await Promise.all([Network.enable(), Page.enable(), Runtime.enable(), Log.enable()]);
    await Emulation.setDeviceMetricsOverride({ width: 1400, height: 1000, deviceScaleFactor: 1,
      mobile: false });
    const started = Date.now();
    await Page.navigate({ url: reportUrl });
    await Page.loadEventFired();
    const evaluate = async (expression) => {
      const { result, exceptionDetails } = await Runtime.evaluate({ expression,
        returnByValue: true, awaitPromise: true });
      if (exceptionDetails) throw new Error(expression + ': ' + exceptionDetails.text);
      return result.value;
    };
    while (!(await evaluate('!!(window.descpipeReport && window.descpipeReport.ready)'))) {
      if (Date.now() - started > 120000) throw new Error('the report was not ready in 120 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log('report ready in ' + (Date.now() - started) + ' ms');

    // The funnel against the pass JSONs.
    const funnel = await evaluate(`[...document.querySelectorAll('#funnel-table tbody tr')].map(
      (tr) => [Number(tr.dataset.pass), Number(tr.querySelector('.in').textContent),
               Number(tr.querySelector('.out').textContent)])`);
    const passFiles = { 1: 'pass1_variance_filtering.json', 2: 'pass2_spearman.json',
      3: 'pass3_vif.json', 4: 'pass4_nonlinear.json' };
    const expected = Object.entries(passFiles)
      .filter(([, file]) => fs.existsSync(path.join(args.outdir, file)))
      .map(([pass, file]) => {
        const json = readJson(args.outdir, file);
        return [Number(pass), json.input_columns, json.output_columns];
      });
    if (JSON.stringify(funnel) !== JSON.stringify(expected)) {
      fail('funnel ' + JSON.stringify(funnel) + ' but the pass JSONs say ' + JSON.stringify(expected));
    }
    const chartData = await evaluate(`descpipeReport.charts.funnel.getOption().series[0].data
      .map((d) => d.value)`);
    const manifest = readJson(args.outdir, 'run_manifest.json');
    const expectedChart = [manifest.columns.descriptors, ...expected.map((e) => e[2])];
    if (JSON.stringify(chartData) !== JSON.stringify(expectedChart)) {
      fail('funnel chart ' + JSON.stringify(chartData) + ', expected ' + JSON.stringify(expectedChart));
    }
    const reasons = await evaluate(`Object.fromEntries([...document.querySelectorAll(
      '#pass1-reasons tbody tr')].map((tr) => [tr.dataset.reason,
      Number(tr.querySelector('.count').textContent)]))`);
    const pass1 = readJson(args.outdir, 'pass1_variance_filtering.json');
    if (JSON.stringify(reasons) !== JSON.stringify(pass1.removed_by_reason)) {
      fail('Pass 1 reasons ' + JSON.stringify(reasons) + ' but the JSON says ' +
        JSON.stringify(pass1.removed_by_reason));
    }

    // The descriptor table: one row per input descriptor; a filter hides the others; a header
    // click sorts (numbers as numbers, empty cells last).
    const table = await evaluate(`(() => {
      const rows = () => [...document.querySelectorAll('#descriptor-table tbody tr')];
      const all = rows().length;
      const search = document.getElementById('table-search');
      search.value = 'removed'; search.dispatchEvent(new Event('input'));
      const shown = rows().filter((tr) => tr.style.display !== 'none');
      const filtered = shown.length, allRemoved = shown.every((tr) =>
        tr.cells[1].textContent === 'removed');
      search.value = ''; search.dispatchEvent(new Event('input'));
      const header = [...document.querySelectorAll('#descriptor-table thead th')];
      const column = header.findIndex((th) => th.textContent === 'mean');
      header[column].click(); header[column].click();  // descending
      const cells = rows().map((tr) => tr.cells[column].textContent);
      const values = cells.filter((v) => v !== '' && Number.isFinite(Number(v))).map(Number);
      // Numbers first, in descending order; then the empty and undefined ('nan') cells.
      const lastNumber = cells.map((v) => Number.isFinite(Number(v)) && v !== '').lastIndexOf(true);
      const sorted = values.every((v, k) => k === 0 || values[k - 1] >= v) &&
        lastNumber === values.length - 1;
      return { all, filtered, allRemoved, sorted, first: values[0] };
    })()`);
    if (table.all !== manifest.columns.descriptors) {
      fail('the table has ' + table.all + ' rows for ' + manifest.columns.descriptors + ' descriptors');
    }
    if (!(table.filtered > 0 && table.filtered < table.all && table.allRemoved)) {
      fail('filtering on "removed": ' + JSON.stringify(table));
    }
    if (!table.sorted) fail('sorting by mean: ' + JSON.stringify(table));

    // The explorer against `descpipe explain` (a run stopped before Pass 4 has no lineage: the
    // explorer says so).
    const complete = fs.existsSync(path.join(args.outdir, 'final_cluster_info.json'));
    const names = complete ? explorerNames(args.outdir) : [];
    if (complete && names.length < 5) fail('fewer than 5 names to explain: ' + names.join(', '));
    if (!complete) {
      const shown = await evaluate(`(() => {
        const input = document.getElementById('explorer-input');
        input.value = 'anything'; input.dispatchEvent(new Event('input'));
        return document.getElementById('explorer-output').textContent; })()`);
      if (!shown.includes('written by Pass 4')) fail('explorer of a partial run: ' + shown);
    }
    for (const name of names) {
      const cli = execFileSync(args.cli, ['explain', args.outdir, name], { encoding: 'utf8' });
      const shown = await evaluate(`(() => {
        const input = document.getElementById('explorer-input');
        input.value = ${JSON.stringify(name)};
        input.dispatchEvent(new Event('input'));
        return document.getElementById('explorer-output').textContent; })()`);
      if (shown !== cli) fail('explorer for ' + name + ':\n' + shown + '\nbut descpipe explain:\n' + cli);
    }
    console.log('explorer checked on ' + names.join(', '));

    // The heatmap and the graph are drawn.
    // The floors suit runs with dozens of Pass 3 survivors (the tests' tables); a run of a few
    // columns draws a nearly empty graph and scatter, rightly.
    // [chart, least share drawn, least share coloured]: a chart without its data keeps its
    // axes and title (grey): under 1% drawn and 0.01% coloured (the "broken" test checks).
    const has = (file) => fs.existsSync(path.join(args.outdir, file));
    const charts = [['heatmap', 0.3, 0.001, has('pass2_spearman.json')],
      ['graph', 0.01, 0.001, has('pass4_nonlinear.json')],
      ['scatter', 0.01, 0.0001, has('pass4_hsic_matrix.npy') && has('pass4_rdc_matrix.npy')],
      ['funnel', 0.1, 0.1, true]];
    for (const [id, minShare, minColoured, expectedThere] of charts) {
      if (!expectedThere) {
        const hidden = await evaluate(`getComputedStyle(document.getElementById('${id}'))
          .display === 'none'`);
        if (!hidden) fail(id + ' is shown though the run has no data for it');
        continue;
      }
      const box = await evaluate(`(() => { const r = document.getElementById('${id}')
        .getBoundingClientRect(); return [r.left + window.scrollX, r.top + window.scrollY,
        r.width, r.height]; })()`);
      if (!(box[2] > 0 && box[3] > 0)) { fail(id + ' is not displayed'); continue; }
      const shot = await Page.captureScreenshot({ format: 'png', captureBeyondViewport: true,
        clip: { x: box[0], y: box[1], width: box[2], height: box[3], scale: 1 } });
      const ink = inkOf(decodePng(Buffer.from(shot.data, 'base64')));
      const said = (100 * ink.share).toFixed(2) + '% of pixels drawn, ' +
        (100 * ink.coloured).toFixed(2) + '% coloured, ' + ink.colours + ' colours';
      console.log(id + ': ' + said);
      if (ink.share < minShare || ink.coloured < minColoured) {
        fail(id + ' looks blank: ' + said + ' (at least ' + 100 * minShare + '% drawn and ' +
          100 * minColoured + '% coloured)');
      }
    }
    if (args.screenshot) {
      await evaluate(`(() => { const input = document.getElementById('explorer-input');
        input.value = ${JSON.stringify(names[0] || '')}; input.dispatchEvent(new Event('input'));
        window.scrollTo(0, 0); })()`);
      const { contentSize } = await Page.getLayoutMetrics();
      const jpeg = /\.jpe?g$/.test(args.screenshot);  // docs/ keeps a JPEG: a fifth the size
      const shot = await Page.captureScreenshot({ format: jpeg ? 'jpeg' : 'png',
        quality: jpeg ? 70 : undefined, captureBeyondViewport: true,
        clip: { x: 0, y: 0, width: 1400, height: Math.min(contentSize.height, 5400), scale: 1 } });
      fs.writeFileSync(args.screenshot, Buffer.from(shot.data, 'base64'));
      console.log('screenshot: ' + args.screenshot);
    }
    await new Promise((r) => setTimeout(r, 300));  // late log entries
  } finally {
    // Chromium's own processes (renderer, GPU, utility) outlive a killed parent and keep writing
    // into the profile: close the browser, then kill its whole process group, then remove the
    // profile (a leftover temporary directory is a warning, not a failed check).
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (client) {
      await client.Browser.close().catch(() => {});
      await client.close().catch(() => {});
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    try { process.kill(-child.pid, 'SIGKILL'); } catch (error) { /* already gone */ }
    try {
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch (error) {
      console.error('warning: could not remove ' + profile + ': ' + error.message);
    }
  }
  const size = fs.statSync(args.report).size;
  console.log(path.basename(args.report) + ': ' + (size / 1e6).toFixed(2) + ' MB');
  if (failures.length) {
    console.error(failures.length + ' check(s) failed');
    process.exit(1);
  }
  console.log('all browser checks passed');
}

main().catch((error) => { console.error(error.stack || String(error)); process.exit(1); });
