// The descpipe report's page code (src/report/assets/report.html; docs/REPORT.md). It reads the
// JSON that descpipe embedded (element #descpipe-data), fills the tables and draws the charts
// with Apache ECharts. It makes no network request. window.descpipeReport.ready turns true once
// every chart has finished drawing (the browser tests wait for it).
(function () {
  'use strict';
  const state = { ready: false, charts: {}, pending: 0 };
  window.descpipeReport = state;
  const data = JSON.parse(document.getElementById('descpipe-data').textContent);
  const manifest = data.manifest;

  // ---- helpers --------------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === 'text') node.textContent = value;
      else if (key === 'class') node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }
  // Text for ECharts' HTML tooltips: a column name may hold any character.
  const esc = (value) => String(value).replace(/[&<>"']/g, (c) =>
    ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  function fmt(value, digits) {
    if (value === null || value === undefined || value === '') return '';
    if (typeof value === 'string') return value;
    if (!Number.isFinite(value)) return String(value);
    if (Number.isInteger(value)) return value.toLocaleString('en-US');
    return value.toFixed(digits === undefined ? 4 : digits);
  }
  function bytes(value) {
    if (!Number.isFinite(value)) return '';
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let k = 0;
    while (value >= 1000 && k < units.length - 1) { value /= 1000; k++; }
    return value.toFixed(k === 0 ? 0 : 1) + ' ' + units[k];
  }
  function text(value) {
    if (value === null || value === undefined) return '';
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  // Rows of [label, value] into a two-column table.
  function keyValueTable(table, rows) {
    table.replaceChildren(...rows.map(([key, value]) =>
      el('tr', {}, [el('th', { text: key }), el('td', { text: text(value) })])));
  }
  function headedTable(table, headers, rows, numeric) {
    const head = el('thead', {}, [el('tr', {}, headers.map((h, k) =>
      el('th', { text: h, class: numeric && numeric[k] ? 'num' : '' })))]);
    const body = el('tbody', {}, rows.map((row) => el('tr', {}, row.map((cell, k) =>
      el('td', { text: text(cell), class: numeric && numeric[k] ? 'num' : '' })))));
    table.replaceChildren(head, body);
  }
  // RFC 4180 CSV (quoted fields, doubled quotes) into an array of objects by header.
  function parseCsv(source) {
    const rows = [];
    let row = [], field = '', quoted = false;
    for (let i = 0; i < source.length; i++) {
      const c = source[i];
      if (quoted) {
        if (c === '"') {
          if (source[i + 1] === '"') { field += '"'; i++; } else quoted = false;
        } else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') { row.push(field); field = ''; }
      else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
      else if (c !== '\r') field += c;
    }
    if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
    const header = rows.shift() || [];
    return rows.map((r) => Object.fromEntries(header.map((h, k) => [h, r[k]])));
  }
  function decodeBase64(b64) {
    const raw = atob(b64);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function missing(id, message) {
    const node = $(id);
    if (node) node.replaceChildren(el('p', { class: 'missing', text: message }));
  }
  function chart(id, option) {
    const node = $(id);
    const instance = echarts.init(node, null, { renderer: 'canvas' });
    state.charts[id] = instance;
    state.pending++;
    let done = false;
    instance.on('finished', () => {
      if (done) return;
      done = true;
      if (--state.pending === 0) state.ready = true;
    });
    instance.setOption(option);
    return instance;
  }
  const passByName = {};
  for (const pass of manifest.passes) passByName[pass.pass] = pass;
  const lastStage = manifest.passes.length ? manifest.passes[manifest.passes.length - 1].stage : 0;
  const notRun = (n) => 'Pass ' + n + ' did not run: the run stopped after ' +
    (lastStage > 0 ? 'pass ' + lastStage : 'sampling') + ' (--until).';
  const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1',
    '#ff9da7', '#9c755f', '#17becf', '#bcbd22', '#8c564b', '#1f77b4', '#d62728', '#2ca02c'];

  // ---- run header -----------------------------------------------------------------------------
  $('subtitle').textContent = data.out_dir + ' \u2014 ' + manifest.columns.descriptors +
    ' descriptors in, ' + (data.final_descriptors ? data.final_descriptors.length + ' final' :
      'run stopped after pass ' + lastStage);
  $('footer-version').textContent = data.descpipe_version;
  const files = manifest.inputs.files || [];
  const inputRows = [];
  for (const file of files) {
    inputRows.push([file.path, file.format + ', ' + fmt(file.rows) + ' rows, ' +
      bytes(file.size_bytes)]);
  }
  const totalRows = files.reduce((sum, f) => sum + (f.rows || 0), 0);
  inputRows.push(['rows in all', fmt(totalRows)]);
  keyValueTable($('inputs-table'), inputRows);
  keyValueTable($('columns-table'), [
    ['descriptors', manifest.columns.descriptors],
    ['metadata', (manifest.columns.metadata || []).join(', ')],
    ['target', manifest.columns.target_column || 'none'],
    ['identifier columns', (manifest.columns.id_columns || []).join(', ') || 'none']]);
  if (data.changed_options.length === 0) {
    keyValueTable($('options-table'), [['(none)', 'every option at its default']]);
  } else {
    headedTable($('options-table'), ['option', 'value', 'default'],
      data.changed_options.map((o) => [o.name, o.value, o.default]));
  }
  headedTable($('passes-table'), ['pass', 'status', 'columns in', 'columns out', 'seconds',
    'peak memory'], manifest.passes.map((p) => [p.pass, p.status, fmt(p.columns_in),
    fmt(p.columns_out), p.seconds === undefined ? '' : p.seconds.toFixed(2),
    bytes(p.peak_rss_bytes)]), [false, false, true, true, true, true]);
  const resources = manifest.resources || {};
  keyValueTable($('versions-table'), [
    ['descpipe', manifest.descpipe_version], ['DuckDB', manifest.duckdb_version],
    ['Apache ECharts', data.echarts_version], ['device', manifest.device],
    ['threads', resources.threads], ['memory limit', bytes(resources.memory_limit_bytes)],
    ['report made by descpipe', data.descpipe_version]]);

  // ---- funnel ---------------------------------------------------------------------------------
  const stages = [{ name: 'input descriptors', count: manifest.columns.descriptors }];
  const funnelRows = [];
  const passTitles = { pass1_statistics: 'Pass 1: statistics', pass2_spearman: 'Pass 2: Spearman',
    pass3_vif: 'Pass 3: VIF', pass4_nonlinear: 'Pass 4: nonlinear' };
  for (const pass of manifest.passes) {
    if (!(pass.pass in passTitles)) continue;
    stages.push({ name: 'after ' + passTitles[pass.pass], count: pass.columns_out });
    const row = el('tr', { 'data-pass': String(pass.stage) }, [
      el('td', { text: passTitles[pass.pass] }),
      el('td', { class: 'num in', text: String(pass.columns_in) }),
      el('td', { class: 'num removed', text: String(pass.columns_in - pass.columns_out) }),
      el('td', { class: 'num out', text: String(pass.columns_out) })]);
    funnelRows.push(row);
  }
  $('funnel-table').replaceChildren(
    el('thead', {}, [el('tr', {}, ['pass', 'in', 'removed', 'out'].map((h, k) =>
      el('th', { text: h, class: k ? 'num' : '' })))]),
    el('tbody', {}, funnelRows));
  chart('funnel', {
    animation: false,
    tooltip: { trigger: 'item', formatter: (p) => esc(p.name) + ': ' + p.value + ' columns' },
    series: [{
      type: 'funnel', sort: 'none', left: '10%', width: '80%', minSize: '8%', gap: 2,
      max: manifest.columns.descriptors, min: 0,
      label: { show: true, position: 'inside', formatter: (p) => p.value + '  ' + p.name },
      data: stages.map((s) => ({ name: s.name, value: s.count })),
    }],
  });
  if (data.pass1) {
    const reasons = Object.entries(data.pass1.removed_by_reason);
    $('pass1-reasons').replaceChildren(
      el('thead', {}, [el('tr', {}, [el('th', { text: 'reason' }),
        el('th', { class: 'num', text: 'removed' })])]),
      el('tbody', {}, reasons.map(([reason, count]) => el('tr', { 'data-reason': reason }, [
        el('td', { text: reason.replace(/_/g, ' ') }),
        el('td', { class: 'num count', text: String(count) })]))));
  }

  // ---- descriptor table -----------------------------------------------------------------------
  const stats = data.stats_csv ? parseCsv(data.stats_csv) : [];
  const statsByName = new Map(stats.map((s) => [s.column, s]));
  let lineage = data.lineage_csv ? parseCsv(data.lineage_csv) : null;
  if (!lineage) {
    // A run stopped before Pass 4 has no lineage yet: fates from each pass's removals.
    const removedIn = {};
    for (const s of stats) if (s.kept === 'false') removedIn[s.column] = [1, 'statistics', s.reason];
    if (data.pass2) for (const [name, by] of Object.entries(data.pass2.removed)) {
      removedIn[name] = [2, 'spearman', 'in favour of ' + by];
    }
    if (data.pass3) for (const r of data.pass3.removal_order) {
      removedIn[r.column] = [3, 'vif', 'VIF ' + r.vif];
    }
    lineage = stats.map((s) => {
      const r = removedIn[s.column];
      return { descriptor: s.column, fate: r ? 'removed' : 'kept so far', pass: r ? String(r[0]) : '',
        pass_name: r ? r[1] : '', reason: r ? r[2] : '', represented_by: '',
        rho_to_representative: '', s_to_representative: '', r2_on_final: '' };
    });
  }
  const columns = [
    ['descriptor', (r) => r.descriptor, false], ['fate', (r) => r.fate, false],
    ['pass', (r) => r.pass, true], ['reason', (r) => r.reason, false],
    ['represented by', (r) => r.represented_by, false],
    ['rho', (r) => r.rho_to_representative, true], ['S', (r) => r.s_to_representative, true],
    ['R\u00b2 on final', (r) => r.r2_on_final, true],
    ['missing', (r) => (statsByName.get(r.descriptor) || {}).missing_ratio, true],
    ['mean', (r) => (statsByName.get(r.descriptor) || {}).mean, true],
    ['std', (r) => (statsByName.get(r.descriptor) || {}).std, true],
    ['distinct', (r) => (statsByName.get(r.descriptor) || {}).n_distinct, true],
    ['normalised variance', (r) => (statsByName.get(r.descriptor) || {}).normalized_variance, true],
  ];
  const shortNumber = (v) => {
    if (v === undefined || v === '') return '';
    const x = Number(v);
    if (!Number.isFinite(x) || /^[<>]/.test(v)) return v;
    if (Number.isInteger(x)) return String(x);
    return Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toFixed(4);
  };
  const table = $('descriptor-table');
  const headRow = el('tr', {}, columns.map(([name, , numeric]) =>
    el('th', { text: name, class: numeric ? 'num' : '' })));
  const rowsOf = lineage.map((r) => {
    const tr = el('tr', { 'data-name': r.descriptor, class: r.fate === 'final' ? 'final' : '' },
      columns.map(([, get, numeric]) => el('td', { class: numeric ? 'num' : '',
        text: numeric ? shortNumber(get(r)) : (get(r) || '') })));
    tr.addEventListener('click', () => {
      $('explorer-input').value = r.descriptor;
      explain(r.descriptor);
      $('explorer').scrollIntoView();
    });
    return { record: r, tr };
  });
  const tbody = el('tbody', {}, rowsOf.map((x) => x.tr));
  table.replaceChildren(el('thead', {}, [headRow]), tbody);
  let sortColumn = -1, sortAscending = true;
  headRow.childNodes.forEach((th, k) => th.addEventListener('click', () => {
    sortAscending = sortColumn === k ? !sortAscending : true;
    sortColumn = k;
    headRow.childNodes.forEach((h) => h.classList.remove('sorted-asc', 'sorted-desc'));
    th.classList.add(sortAscending ? 'sorted-asc' : 'sorted-desc');
    const [, get, numeric] = columns[k];
    const key = (x) => {
      const v = get(x.record);
      if (!numeric) return (v || '').toLowerCase();
      const n = Number(v);
      return v === '' || v === undefined || Number.isNaN(n) ? null : n;
    };
    const sorted = rowsOf.slice().sort((a, b) => {
      const ka = key(a), kb = key(b);
      if (ka === kb) return 0;
      if (ka === null) return 1;  // empty cells last either way
      if (kb === null) return -1;
      return (ka < kb ? -1 : 1) * (sortAscending ? 1 : -1);
    });
    tbody.replaceChildren(...sorted.map((x) => x.tr));
  }));
  function filterTable() {
    const needle = $('table-search').value.trim().toLowerCase();
    let shown = 0;
    for (const { record, tr } of rowsOf) {
      const hay = (record.descriptor + ' ' + record.fate + ' ' + record.reason + ' ' +
        record.represented_by + ' ' + record.pass_name).toLowerCase();
      const visible = needle === '' || hay.includes(needle);
      tr.style.display = visible ? '' : 'none';
      if (visible) shown++;
    }
    $('table-count').textContent = shown + ' of ' + rowsOf.length + ' descriptors';
  }
  $('table-search').addEventListener('input', filterTable);
  filterTable();

  // ---- Pass 2 ---------------------------------------------------------------------------------
  if (!data.pass2) {
    missing('pass2-summary', notRun(2));
    $('heatmap').style.display = 'none';
  } else {
    const p2 = data.pass2;
    $('pass2-summary').textContent = p2.input_columns + ' columns in, ' + p2.output_columns +
      ' out: ' + p2.clusters.length + ' clusters of |rho| >= ' + p2.threshold + ' (' + p2.method +
      '), one representative each; ' + p2.removed_columns + ' removed.';
    const hm = data.heatmap;
    $('heatmap-note').textContent = (hm.note ? hm.note + ' ' : '') +
      'Columns ordered by cluster (largest first, representative first), then the unclustered ones.';
    const names = hm.columns, m = names.length;
    const codes = new Int8Array(decodeBase64(hm.rho).buffer);
    const cells = [];
    let k = 0;
    for (let a = 0; a < m; a++) {
      for (let b = a; b < m; b++, k++) {
        if (codes[k] === -128) continue;
        const rho = codes[k] / 127;
        cells.push([a, m - 1 - b, rho]);
        if (a !== b) cells.push([b, m - 1 - a, rho]);
      }
    }
    const reversed = names.slice().reverse();
    chart('heatmap', {
      animation: false,
      tooltip: { position: 'top', formatter: (p) => esc(names[p.value[0]]) + ' \u2194 ' +
        esc(reversed[p.value[1]]) + '<br>rho = ' + p.value[2].toFixed(2) },
      grid: { left: 40, right: 90, top: 10, bottom: 40 },
      xAxis: { type: 'category', data: names, axisLabel: { show: m <= 60, rotate: 90 },
        axisTick: { show: false }, splitArea: { show: false } },
      yAxis: { type: 'category', data: reversed, axisLabel: { show: m <= 60 },
        axisTick: { show: false } },
      visualMap: { min: -1, max: 1, calculable: true, orient: 'vertical', right: 0, top: 'center',
        text: ['rho 1', '-1'], inRange: { color: ['#2166ac', '#f7f7f7', '#b2182b'] } },
      series: [{ type: 'heatmap', data: cells, progressive: 0 }],
    });
    const clusterRows = p2.clusters.map((c) => el('tr', {}, [
      el('td', { text: c.representative }), el('td', { text: c.decided_by }),
      el('td', { class: 'num', text: String(c.members.length) }),
      el('td', { text: c.members.map((x) => x.column + ' (' + x.rho_to_representative.toFixed(4) +
        ')').join(', ') })]));
    $('pass2-clusters').replaceChildren(
      el('thead', {}, [el('tr', {}, ['representative', 'chosen by', 'members',
        'members (rho to the representative)'].map((h) => el('th', { text: h })))]),
      el('tbody', {}, clusterRows));
  }

  // ---- Pass 3 ---------------------------------------------------------------------------------
  if (!data.pass3) {
    missing('pass3-summary', notRun(3));
    $('vif-removals').style.display = 'none';
    $('vif-final').style.display = 'none';
  } else {
    const p3 = data.pass3;
    $('pass3-summary').textContent = p3.input_columns + ' columns in, ' + p3.output_columns +
      ' out: the column of largest VIF was removed while it exceeded ' + p3.threshold + ' (' +
      p3.correlation + ' correlations); ' + p3.removed_columns + ' removed.';
    const order = p3.removal_order;
    const finite = order.map((r) => Number(r.vif)).filter(Number.isFinite);
    const cap = finite.length ? Math.max(...finite) * 2 : 1e6;
    chart('vif-removals', {
      animation: false,
      title: { text: 'Removal sequence: VIF at removal (log scale; singular drawn at the top)',
        textStyle: { fontSize: 13 } },
      tooltip: { trigger: 'axis', formatter: (ps) => {
        const r = order[ps[0].dataIndex];
        return (ps[0].dataIndex + 1) + '. ' + esc(r.column) + '<br>VIF ' + esc(r.vif) +
          (r.singular ? ' (singular)' : '') + (r.absorbed_by ? '<br>most explained by ' +
          esc(r.absorbed_by) : '');
      } },
      grid: { left: 60, right: 20, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: order.map((r, i) => String(i + 1)), name: 'step' },
      yAxis: { type: 'log', name: 'VIF' },
      series: [{ type: 'bar', data: order.map((r) => {
        const v = Number(r.vif);
        return Number.isFinite(v) ? v : { value: cap, itemStyle: { color: '#e15759' } };
      }), markLine: { silent: true, symbol: 'none', data: [{ yAxis: p3.threshold }],
        label: { formatter: 'threshold ' + p3.threshold } } }],
    });
    const finals = Object.entries(p3.final_vif).sort((a, b) => b[1] - a[1]);
    chart('vif-final', {
      animation: false,
      title: { text: 'Final VIF of the ' + finals.length + ' survivors', textStyle: { fontSize: 13 } },
      tooltip: { trigger: 'axis', formatter: (ps) => esc(finals[ps[0].dataIndex][0]) + '<br>VIF ' +
        finals[ps[0].dataIndex][1].toFixed(3) },
      grid: { left: 60, right: 20, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: finals.map((f) => f[0]), axisLabel: { show: false } },
      yAxis: { type: 'value', name: 'VIF' },
      series: [{ type: 'bar', data: finals.map((f) => f[1]), large: true,
        markLine: { silent: true, symbol: 'none', data: [{ yAxis: p3.threshold }] } }],
    });
  }

  // ---- Pass 4 ---------------------------------------------------------------------------------
  if (!data.pass4) {
    missing('pass4-summary', notRun(4));
    $('graph').style.display = 'none';
    $('scatter').style.display = 'none';
  } else if (data.pass4.skipped) {
    missing('pass4-summary', 'Pass 4 was skipped: ' + data.pass4.skipped);
    $('graph').style.display = 'none';
    $('scatter').style.display = 'none';
  } else {
    const p4 = data.pass4, params = p4.parameters;
    $('pass4-summary').textContent = p4.input_columns + ' columns in, ' + p4.output_columns +
      ' out: S = (' + params.w_hsic + ' nHSIC + ' + params.w_rdc + ' RDC) / ' +
      (params.w_hsic + params.w_rdc) + ', an edge where S >= ' + params.nonlinear_threshold +
      (params.nonlinear_topk > 0 ? ' among the top ' + params.nonlinear_topk + ' of either end' : '') +
      ' (' + p4.edges + ' edges), clustered with Leiden (' + params.leiden_objective +
      '); ' + p4.clusters.length + ' clusters, ' + p4.removed_columns + ' removed.';
    const nodes = data.pass3_columns;
    const clusterOf = new Map(), representatives = new Set();
    p4.clusters.forEach((c, k) => {
      representatives.add(c.representative);
      for (const m of c.members) clusterOf.set(m.column, k);
    });
    const categories = p4.clusters.map((c) => ({ name: 'cluster of ' + c.representative }));
    categories.push({ name: 'no cluster', itemStyle: { color: '#c7ccd3' } });
    const edges = p4.edge_list || [];
    chart('graph', {
      animation: false,
      title: { text: 'Dependence graph: ' + nodes.length + ' Pass 3 survivors, ' + edges.length +
        ' edges (representatives large, outlined)', textStyle: { fontSize: 13 } },
      tooltip: { formatter: (p) => p.dataType === 'edge' ? esc(p.data.source) + ' \u2194 ' +
        esc(p.data.target) + '<br>S = ' + p.data.value.toFixed(3) : esc(p.name) +
        (representatives.has(p.name) ? ' (representative)' : '') },
      color: palette,
      series: [{
        type: 'graph', layout: 'force', roam: true, categories,
        force: { repulsion: 40, edgeLength: 30, gravity: 0.15, layoutAnimation: false },
        data: nodes.map((name) => {
          const k = clusterOf.get(name);
          const rep = representatives.has(name);
          return { name, category: k === undefined ? categories.length - 1 : k,
            symbolSize: rep ? 14 : 7,
            itemStyle: rep ? { borderColor: '#111', borderWidth: 2 } : {},
            label: { show: rep, fontSize: 9 } };
        }),
        links: edges.map(([a, b, s]) => ({ source: a, target: b, value: s,
          lineStyle: { width: 0.5 + 2.5 * (s - params.nonlinear_threshold) /
            Math.max(1e-9, 1 - params.nonlinear_threshold), opacity: 0.6 } })),
      }],
    });
    const sc = data.scatter;
    if (!sc) {
      $('scatter').style.display = 'none';
      $('scatter-note').textContent = 'No scatter: ' + data.scatter_missing + '.';
    } else {
    const raw = decodeBase64(sc.pairs);
    const view = new DataView(raw.buffer);
    const points = [];
    for (let at = 0; at + 8 <= raw.length; at += 8) {
      points.push([view.getUint16(at + 4, true) / 65535, view.getUint16(at + 6, true) / 65535,
        view.getUint16(at, true), view.getUint16(at + 2, true)]);
    }
    $('scatter-note').textContent = 'The scatter shows the ' + sc.pairs_shown.toLocaleString('en-US') +
      ' pairs with max(nHSIC, RDC) >= ' + sc.floor + (sc.pairs_shown < sc.pairs_above_floor ?
      ' of largest S (of ' + sc.pairs_above_floor.toLocaleString('en-US') + ' above it)' : '') +
      ', of ' + sc.pairs_total.toLocaleString('en-US') + ' pairs' +
      (sc.pairs_undefined ? ' (' + sc.pairs_undefined + ' undefined)' : '') + '.' +
      (sc.pairs_screened ? ' ' + sc.pairs_screened.toLocaleString('en-US') + ' pairs are not ' +
        'shown: their RDC was too low for S to reach the threshold, so their nHSIC was not ' +
        'computed (nonlinear_screening).' : '');
    chart('scatter', {
      animation: false,
      title: { text: 'nHSIC against RDC, each pair of Pass 3 survivors', textStyle: { fontSize: 13 } },
      tooltip: { formatter: (p) => esc(nodes[p.value[2]]) + ' \u2194 ' + esc(nodes[p.value[3]]) +
        '<br>nHSIC ' + p.value[0].toFixed(3) + ', RDC ' + p.value[1].toFixed(3) },
      grid: { left: 50, right: 20, top: 40, bottom: 45 },
      xAxis: { type: 'value', name: 'nHSIC', min: 0, max: 1, nameLocation: 'middle', nameGap: 25 },
      yAxis: { type: 'value', name: 'RDC', min: 0, max: 1 },
      series: [{ type: 'scatter', data: points, symbolSize: 3, large: points.length > 2000,
        itemStyle: { color: '#4e79a7', opacity: 0.6 } }],
    });
    }
  }

  // ---- lineage explorer -----------------------------------------------------------------------
  const explanations = new Map(Object.entries(data.explain || {}));
  const allNames = lineage.map((r) => r.descriptor);
  $('explorer-names').replaceChildren(...allNames.map((n) => el('option', { value: n })));
  function explain(name) {
    const out = $('explorer-output');
    if (name === '') { out.textContent = ''; return; }
    if (!data.explain) {
      out.textContent = 'The lineage is written by Pass 4, which this run did not reach.';
    } else if (explanations.has(name)) {
      out.textContent = explanations.get(name);
    } else {
      const lower = name.toLowerCase();
      const close = allNames.filter((n) => n.toLowerCase().includes(lower) ||
        lower.includes(n.toLowerCase())).slice(0, 5);
      out.textContent = "'" + name + "' is not an input descriptor of this run" +
        (close.length ? ' (similar: ' + close.join(', ') + ')' : '');
    }
  }
  $('explorer-input').addEventListener('input', (e) => explain(e.target.value.trim()));
  $('explorer-input').addEventListener('change', (e) => explain(e.target.value.trim()));

  if (state.pending === 0) state.ready = true;
  window.addEventListener('resize', () => {
    for (const c of Object.values(state.charts)) c.resize();
  });
})();
