/**
 * What personal data costs the plan on SQL Server and Azure SQL (Dynamic Data Masking), without a
 * server: no SQL Server engine runs on these machines, so the catalog is the one inspect would read
 * of a converged warehouse (every mask on, every masked reader's column grant held), built as
 * inspectSqlServer's result, and the bench times the pure part of a plan: diff, and render of the
 * first apply. `--apps` apps (1,000) of `--tables` tables (20) of `--columns` columns (30), two of
 * them personal in every table, one data consumer role per app reading them masked, against the same
 * warehouse and policy without personal data. Medians of `--reps` (5) runs: read the ratios.
 * A server's own time (reading about 600,000 column permissions, running the statements) is not in it.
 * Results: bench/results/masking-sqlserver-latest.{json,md}.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { realizeSqlServer, renderChanges, resolveDialectOptions } from '../provider/engines/sqlserver';
import { compilePolicy } from '../provider/model/compile';
import { LiveRelation } from '../provider/model/masking';
import { columnSecurable, sortState } from '../provider/model/state';
import { ActualState, DesiredState, Permission, Policy } from '../provider/model/types';
import { diffState } from '../provider/plan/diff';
import { machineInfo } from './machine';
import { formatMs, median } from './stats';

interface Options {
  apps: number;
  tables: number;
  columns: number;
  reps: number;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { apps: 1000, tables: 20, columns: 30, reps: 5, out: path.join(__dirname, '..', '..', 'bench', 'results') };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--out') o.out = value;
    else if (flag === '--apps' || flag === '--tables' || flag === '--columns' || flag === '--reps') o[flag.slice(2) as 'apps' | 'tables' | 'columns' | 'reps'] = Number(value);
    else throw new Error(`unknown option ${flag} (--apps N --tables N --columns N --reps N --out DIR)`);
  }
  return o;
}

function policyOf(o: Options, personal: boolean): Policy {
  const apps: Policy['apps'] = {};
  for (let i = 0; i < o.apps; i++) {
    apps[`app${i}`] = { schema: `app${i}`, source: 'closed', ...(personal ? { personalData: { columns: { '*.user_name': 'redact', '*.contact_email': { mask: 'partial', first: 1, last: 4 } } } } : {}) };
  }
  return {
    apiVersion: 'pmgrants/v1',
    warehouse: { engine: 'sqlserver', database: 'wh' },
    security: { mode: 'system_managed' },
    principals: { analysts: { kind: 'database-role', name: 'analysts' } },
    apps,
    grants: [{ persona: 'data_consumer', to: ['analysts'], apps: ['*'] }],
  };
}

/** The tables of every app as inspect reads them: masked (converged) or not yet. */
function relationsOf(o: Options, masked: boolean): LiveRelation[] {
  const columns = ['id', 'user_name', 'contact_email', ...Array.from({ length: Math.max(0, o.columns - 3) }, (_, k) => `attribute_${k}`)];
  const maskOf = (c: string) => (!masked ? null : c === 'user_name' ? 'partial(0, "***", 0)' : c === 'contact_email' ? 'partial(1, "****", 4)' : null);
  const out: LiveRelation[] = [];
  for (let i = 0; i < o.apps; i++) {
    for (let t = 0; t < o.tables; t++) out.push({ schema: `app${i}`, name: `events_${t}`, kind: 'r', comment: null, columns, columnTypes: columns.map(() => 'nvarchar'), columnMasks: columns.map(maskOf) });
  }
  return out;
}

/** A converged warehouse as inspect reports it: the desired state, plus (personal data) every masked reader's column grants and the masks. */
function convergedActual(desired: DesiredState, o: Options, personal: boolean): ActualState {
  const relations = relationsOf(o, true);
  const columnGrants: Permission[] = [];
  if (personal) {
    for (const app of desired.masking?.apps ?? []) {
      for (const reader of app.companions.flatMap((c) => c.readers)) {
        for (const r of relations.filter((x) => x.schema === app.schema)) {
          for (const c of r.columns) columnGrants.push({ grantee: reader, on: columnSecurable(r.schema, r.name, c), privilege: 'SELECT', effect: 'GRANT', withGrantOption: false });
        }
      }
    }
  }
  const state = sortState({ ...desired, permissions: [...desired.permissions, ...columnGrants] });
  return {
    engine: desired.engine,
    database: desired.database,
    logins: state.logins,
    users: state.users,
    roles: state.roles,
    schemas: state.schemas,
    memberships: state.memberships,
    permissions: state.permissions,
    managed: [...desired.logins, ...desired.users, ...desired.roles].map((p) => p.name),
    passwordSetAt: Object.fromEntries(desired.logins.map((l) => [l.name, new Date().toISOString()])),
    ...(personal ? { masking: { relations } } : {}),
  };
}

function time(fn: () => unknown): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const options = resolveDialectOptions({ engine: 'sqlserver' });
  const results: Record<string, { noop: number; first: number; render: number; statements: number; permissions: number; changes: number }> = {};
  for (const personal of [false, true]) {
    const desired = realizeSqlServer(compilePolicy(policyOf(o, personal)), 'sqlserver');
    const converged = convergedActual(desired, o, personal);
    const empty: ActualState = { engine: 'sqlserver', database: 'wh', logins: [], users: [], roles: [], schemas: [], memberships: [], permissions: [], managed: [], ...(personal ? { masking: { relations: relationsOf(o, false) } } : {}) };
    const noop: number[] = [];
    const first: number[] = [];
    const render: number[] = [];
    let statements = 0;
    let changes = 0;
    for (let rep = 0; rep < o.reps; rep++) {
      let left = -1;
      noop.push(time(() => (left = diffState(desired, converged, { now: new Date() }).changes.length)));
      if (left !== 0) throw new Error(`the converged warehouse plans ${left} changes: the bench would not measure a no-op plan`);
      let plan = diffState(desired, empty);
      first.push(time(() => (plan = diffState(desired, empty))));
      changes = plan.changes.length;
      render.push(time(() => (statements = renderChanges(plan.changes, { options, desired }).length)));
    }
    results[personal ? 'personal' : 'plain'] = { noop: median(noop), first: median(first), render: median(render), statements, permissions: converged.permissions.length, changes };
    console.log(`${personal ? 'with personal data' : 'without'}: no-op diff ${formatMs(median(noop))}, first diff ${formatMs(median(first))} (${changes} changes), render ${formatMs(median(render))} (${statements} statements), ${converged.permissions.length} live permissions`);
  }
  const p = results.personal;
  const b = results.plain;
  const ratio = (x: number, y: number) => (y > 0 ? `${(x / y).toFixed(1)}x` : 'n/a');
  const m = machineInfo();
  const md = [
    `# Personal data on SQL Server: the pure plan (${o.apps} apps x ${o.tables} tables x ${o.columns} columns)`,
    '',
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}${m.commit ? `, commit ${m.commit}` : ''}; medians of ${o.reps} runs; no server (the catalog a converged warehouse's inspect returns, built in memory).`,
    '',
    '| | without personal data | with personal data | ratio |',
    '| --- | ---: | ---: | ---: |',
    `| live permissions | ${b.permissions} | ${p.permissions} | ${ratio(p.permissions, b.permissions)} |`,
    `| diff of the converged warehouse (no-op plan) | ${formatMs(b.noop)} | ${formatMs(p.noop)} | ${ratio(p.noop, b.noop)} |`,
    `| diff against an empty database | ${formatMs(b.first)} (${b.changes} changes) | ${formatMs(p.first)} (${p.changes} changes) | ${ratio(p.first, b.first)} |`,
    `| render of that first apply | ${formatMs(b.render)} (${b.statements} statements) | ${formatMs(p.render)} (${p.statements} statements) | ${ratio(p.render, b.render)} |`,
    '',
  ].join('\n');
  fs.mkdirSync(o.out, { recursive: true });
  fs.writeFileSync(path.join(o.out, 'masking-sqlserver-latest.json'), `${JSON.stringify({ options: { ...o, out: undefined }, machine: m, results }, null, 2)}\n`);
  fs.writeFileSync(path.join(o.out, 'masking-sqlserver-latest.md'), `${md}\n`);
  console.log(md);
}

main();
