/** The runner's output: latest.json (everything), latest.md (the tables) and latest.svg (time vs size). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchResults, SizeResult, ToolResult } from './run';
import { Summary, formatMs, formatSummary } from './stats';
import { describeFixture } from './fixture';

const n = (v: number) => v.toLocaleString('en-US');

/** Targets from the issue, judged from the results. */
export function targets(r: BenchResults): { name: string; ok: boolean | undefined; detail: string }[] {
  const out: { name: string; ok: boolean | undefined; detail: string }[] = [];
  const big = r.sizes.find((s) => s.grants >= 20_000);
  out.push(
    big
      ? { name: 'validate+compile of 20,000 grants < 1 s', ok: big.validateCompile.median < 1000, detail: `${formatMs(big.validateCompile.median)} at ${n(big.grants)} grants` }
      : { name: 'validate+compile of 20,000 grants < 1 s', ok: undefined, detail: 'no size with 20,000 grants in this run' },
  );
  out.push(
    big
      ? { name: 'no-op plan against a live database with 20,000 grants < 0.5 s', ok: big.noopPlan.median < 500, detail: `${formatMs(big.noopPlan.median)} at ${n(big.grants)} grants` }
      : { name: 'no-op plan against a live database with 20,000 grants < 0.5 s', ok: undefined, detail: 'no size with 20,000 grants in this run' },
  );
  for (const [what, key] of [
    ['first apply', 'firstApply'],
    ['no-op check', 'noopCheck'],
  ] as const) {
    const rows = ratios(r).filter((x) => x.apps >= 50);
    const measured = rows.filter((x) => x[key] !== undefined);
    const worst = measured.length ? Math.min(...measured.map((x) => x[key]!)) : undefined;
    out.push({
      name: `${what} at least 3x faster than the faster peer at 200 roles x 50 schemas and above`,
      ok: worst === undefined ? undefined : worst >= 3,
      detail: measured.length ? measured.map((x) => `${x.apps} apps: ${x[key]!.toFixed(1)}x (vs ${x.fasterPeer[key]})`).join('; ') : 'no peer measured at 50 apps or more',
    });
  }
  return out;
}

/** Per size: how many times slower than pmgrants's CLI the faster peer is (median / median). */
export function ratios(r: BenchResults): { apps: number; firstApply?: number; noopCheck?: number; fasterPeer: { firstApply?: string; noopCheck?: string }; perPeer: Record<string, { firstApply?: number; noopCheck?: number }> }[] {
  const sizes = [...new Set(r.comparison.map((c) => c.apps))].sort((a, b) => a - b);
  return sizes.flatMap((apps) => {
    const ours = r.comparison.find((c) => c.apps === apps && c.tool.startsWith('pmgrants'));
    const peers = r.comparison.filter((c) => c.apps === apps && !c.tool.startsWith('pmgrants') && !c.skipped && c.firstApply);
    if (!ours?.firstApply || peers.length === 0) return [];
    const perPeer: Record<string, { firstApply?: number; noopCheck?: number }> = {};
    for (const p of peers) {
      perPeer[p.tool] = {
        firstApply: p.firstApply!.median / ours.firstApply!.median,
        ...(p.noopCheck && ours.noopCheck ? { noopCheck: p.noopCheck.median / ours.noopCheck.median } : {}),
      };
    }
    const fastest = (k: 'firstApply' | 'noopCheck') => {
      const withK = peers.filter((p) => p[k]);
      if (!withK.length || !ours[k]) return undefined;
      const best = withK.reduce((a, b) => (a[k]!.median <= b[k]!.median ? a : b));
      return { tool: best.tool, ratio: best[k]!.median / ours[k]!.median };
    };
    const fa = fastest('firstApply');
    const nc = fastest('noopCheck');
    return [{ apps, ...(fa ? { firstApply: fa.ratio } : {}), ...(nc ? { noopCheck: nc.ratio } : {}), fasterPeer: { firstApply: fa?.tool, noopCheck: nc?.tool }, perPeer }];
  });
}

function sizeRow(s: SizeResult): string {
  const trips = [...new Set(s.inspect.roundTrips)].join('/');
  return `| ${n(s.apps)} | ${n(s.principals)} | ${n(s.grants)} | ${n(s.model.roles)} / ${n(s.model.memberships)} / ${n(s.model.permissions)} | ${formatSummary(s.validateCompile)} | ${formatSummary(s.inspect)}, ${trips} trip${trips === '1' ? '' : 's'} | ${formatSummary(s.noopPlan)} | ${formatSummary(s.firstApply)} | ${n(s.firstApply.statements)} / ${n(s.firstApply.applyRoundTrips)} | ${formatSummary(s.noopApply)} |`;
}

function toolRow(t: ToolResult, ours: ToolResult | undefined): string {
  const ratio = (k: 'firstApply' | 'noopCheck') =>
    t.tool.startsWith('pmgrants') || !t[k] || !ours?.[k] ? '' : ` (${(t[k]!.median / ours[k]!.median).toFixed(1)}x)`;
  const c = t.catalog;
  const made = c ? `${n(c.roles)} roles, ${n(c.memberships)} memberships, ${n(c.schemaPrivileges)} schema / ${n(c.tablePrivileges)} table / ${n(c.sequencePrivileges)} sequence / ${n(c.defaultPrivileges)} default privileges, ${n(c.schemaOwnedByBenchRole)} schemas owned` : '';
  if (t.skipped) return `| ${n(t.apps)} | ${t.tool} ${t.version} | skipped: ${t.skipped} | | | |`;
  return `| ${n(t.apps)} | ${t.tool} ${t.version} | ${formatSummary(t.firstApply)}${ratio('firstApply')} | ${formatSummary(t.noopCheck)}${ratio('noopCheck')} | ${t.converged ? 'yes' : 'NO'} | ${made} |`;
}

export function markdown(r: BenchResults): string {
  const m = r.machine;
  const o = r.options;
  const lines: string[] = [];
  lines.push(`# pmgrants benchmark results`, '');
  lines.push(`Run ${r.startedAt} – ${r.finishedAt ?? '?'}${m.commit ? ` at commit ${m.commit}` : ''}.`);
  lines.push(`Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; PostgreSQL ${m.postgres ?? '?'}.`);
  lines.push(`Load average (1/5/15 min) at start ${m.loadAtStart.join(' / ')}, at end ${(m.loadAtEnd ?? []).join(' / ')}.`);
  lines.push(`Starting warehouse for every tool: ${describeFixture(o.tables)}; the tools manage access only.`);
  lines.push(`Medians (min–max) of ${o.reps} repetitions (validate+compile after one cold run; inspect, no-op plan and no-op apply on one database), first apply over ${o.applyReps} fresh cluster(s); side by side, each tool ${o.peerReps} fresh cluster(s) per size up to 100 apps and ${o.largePeerReps} above.`, '');
  lines.push('## pmgrants, in process', '');
  lines.push('| apps | principals | grants | roles / memberships / privileges | validate+compile | inspect | no-op plan | first apply | statements / round trips | no-op apply |');
  lines.push('|---:|---:|---:|---|---|---|---|---|---|---|');
  for (const s of r.sizes) lines.push(sizeRow(s));
  lines.push('');
  lines.push('Validate+compile phases (medians): ' + r.sizes.map((s) => `${n(s.apps)} apps: parse ${formatMs(s.phases.parse.median)}, check ${formatMs(s.phases.check.median)}, compile ${formatMs(s.phases.compile.median)} (cold ${formatMs(s.validateCompileCold)})`).join('; ') + '.');
  lines.push(
    'Where the time goes (first cluster of each size): ' +
      r.sizes
        .filter((s) => s.costs)
        .map((s) => `${n(s.apps)} apps: inspect result ${(s.costs!.inspectJsonBytes / 1e6).toFixed(2)} MB of JSON, compile+realize ${formatMs(s.costs!.compileRealize.median)}, one login's SCRAM verifier ${s.costs!.scramClientMsPerLogin} ms in pmgrants + ${s.costs!.scramServerMsPerLogin} ms in the server`)
        .join('; ') +
      '.',
  );
  lines.push('First apply split (medians): ' + r.sizes.map((s) => `${n(s.apps)} apps: plan ${formatMs(s.firstApply.planMs.median)} + apply ${formatMs(s.firstApply.applyMs.median)}`).join('; ') + '.', '');
  if (r.comparison.length || r.peersSetup.length) {
    lines.push('## Side by side: pmgrants CLI, ldap2pg, pgbedrock', '');
    lines.push('Each tool on its own fresh cluster, one after another. In brackets: how many times the pmgrants CLI\'s median.', '');
    lines.push('| apps | tool | first apply | no-op check | converged | what it made |');
    lines.push('|---:|---|---|---|---|---|');
    for (const t of r.comparison) lines.push(toolRow(t, r.comparison.find((c) => c.apps === t.apps && c.tool.startsWith('pmgrants'))));
    lines.push('');
    for (const p of r.peersSetup) if (p.status !== 'ok') lines.push(`- ${p.name}: skipped: ${p.detail}`);
    const notes = [...new Set(r.comparison.flatMap((c) => c.notes.map((x) => `${c.tool}: ${x}`)))];
    for (const x of notes) lines.push(`- ${x}`);
    lines.push('');
    const rs = ratios(r);
    if (rs.length) {
      lines.push('Faster peer vs pmgrants (median / median): ' + rs.map((x) => `${n(x.apps)} apps: first apply ${x.firstApply?.toFixed(1) ?? '–'}x (${x.fasterPeer.firstApply ?? '–'}), no-op check ${x.noopCheck?.toFixed(1) ?? '–'}x (${x.fasterPeer.noopCheck ?? '–'})`).join('; ') + '.', '');
    }
  }
  lines.push('## Targets', '');
  for (const t of targets(r)) lines.push(`- ${t.ok === undefined ? 'not measured' : t.ok ? 'met' : 'NOT met'}: ${t.name}: ${t.detail}`);
  lines.push('', '## Runner checks', '');
  for (const c of r.checks) lines.push(`- ${c.ok ? 'ok' : 'FAILED'}: ${c.name}: ${c.detail}`);
  lines.push('');
  return lines.join('\n');
}

interface Series {
  label: string;
  color: string;
  /** SVG stroke-dasharray; solid when absent. */
  dashed?: string;
  points: { x: number; y: Summary }[];
}

/** Time vs size, log-log, hand-written SVG. */
export function svg(r: BenchResults): string {
  const series: Series[] = [
    { label: 'pmgrants validate+compile', color: '#1b9e77', points: r.sizes.map((s) => ({ x: s.apps, y: s.validateCompile })) },
    { label: 'pmgrants no-op plan', color: '#7570b3', points: r.sizes.map((s) => ({ x: s.apps, y: s.noopPlan })) },
    { label: 'pmgrants first apply', color: '#d95f02', points: r.sizes.map((s) => ({ x: s.apps, y: s.firstApply })) },
  ];
  const peerColors: Record<string, string> = { ldap2pg: '#e7298a', pgbedrock: '#66a61e', 'pmgrants (CLI)': '#e6ab02' };
  for (const tool of [...new Set(r.comparison.map((c) => c.tool))]) {
    const rows = r.comparison.filter((c) => c.tool === tool && !c.skipped);
    const fa = rows.filter((c) => c.firstApply).map((c) => ({ x: c.apps, y: c.firstApply! }));
    const nc = rows.filter((c) => c.noopCheck).map((c) => ({ x: c.apps, y: c.noopCheck! }));
    if (fa.length) series.push({ label: `${tool} first apply`, color: peerColors[tool] ?? '#999', dashed: '7,4', points: fa });
    if (nc.length) series.push({ label: `${tool} no-op check`, color: peerColors[tool] ?? '#999', dashed: '2,3', points: nc });
  }
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y.median) && p.y.median > 0);
  const W = 760;
  const H = 420;
  const L = 70;
  const R = 250;
  const T = 30;
  const B = 50;
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y.median);
  const x0 = Math.log10(Math.min(...xs, 10)) - 0.1;
  const x1 = Math.log10(Math.max(...xs, 10)) + 0.1;
  const y0 = Math.floor(Math.log10(Math.max(0.1, Math.min(...ys, 1))));
  const y1 = Math.ceil(Math.log10(Math.max(...ys, 10)));
  const px = (x: number) => L + ((Math.log10(x) - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number) => T + (1 - (Math.log10(y) - y0) / (y1 - y0 || 1)) * (H - T - B);
  const e = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${L}" y="18" font-size="14">Time vs size (medians, log-log) — ${e(r.machine.cpuModel)}, ${r.machine.cores} cores</text>`);
  for (let k = y0; k <= y1; k++) {
    const y = py(10 ** k);
    out.push(`<line x1="${L}" y1="${y.toFixed(1)}" x2="${W - R}" y2="${y.toFixed(1)}" stroke="#ddd"/>`);
    const v = 10 ** k;
    out.push(`<text x="${L - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${v < 1000 ? `${v} ms` : `${v / 1000} s`}</text>`);
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    const X = px(x);
    out.push(`<line x1="${X.toFixed(1)}" y1="${T}" x2="${X.toFixed(1)}" y2="${H - B}" stroke="#eee"/>`);
    out.push(`<text x="${X.toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${n(x)}</text>`);
  }
  out.push(`<text x="${(L + (W - R)) / 2}" y="${H - 12}" text-anchor="middle">apps (20 grants each)</text>`);
  out.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`);
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.y.median) && p.y.median > 0).sort((a, b) => a.x - b.x);
    if (pts.length === 0) return;
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(p.y.median).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ` stroke-dasharray="${s.dashed}"` : ''}/>`);
    for (const p of pts) {
      // min–max whisker, then the median dot
      if (p.y.min > 0 && p.y.max > 0) out.push(`<line x1="${px(p.x).toFixed(1)}" y1="${py(p.y.min).toFixed(1)}" x2="${px(p.x).toFixed(1)}" y2="${py(p.y.max).toFixed(1)}" stroke="${s.color}"/>`);
      out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y.median).toFixed(1)}" r="3" fill="${s.color}"><title>${e(`${s.label}, ${n(p.x)} apps: ${formatSummary(p.y)}`)}</title></circle>`);
    }
    const ly = T + 8 + i * 18;
    out.push(`<line x1="${W - R + 14}" y1="${ly}" x2="${W - R + 40}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ` stroke-dasharray="${s.dashed}"` : ''}/>`);
    out.push(`<text x="${W - R + 46}" y="${ly + 4}">${e(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export function writeReports(r: BenchResults, dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'latest.json');
  const md = path.join(dir, 'latest.md');
  const plot = path.join(dir, 'latest.svg');
  fs.writeFileSync(json, JSON.stringify({ ...r, targets: targets(r), ratios: ratios(r) }, null, 2) + '\n');
  fs.writeFileSync(md, markdown(r) + `\n![time vs size](latest.svg)\n`);
  fs.writeFileSync(plot, svg(r));
  return [json, md, plot];
}
