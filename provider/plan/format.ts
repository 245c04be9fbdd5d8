import { counted, printable, printableStatement } from '../diagnostics/printable';
import { Statement } from '../model/statement';
import { Change, Plan, changeApp, hasWork } from './change';
import { describeChange } from './describe';
import { summarize } from './diff';
import { maxOf, pushAll } from '../model/collections';

export type PlanFormat = 'text' | 'markdown' | 'json';
export const PLAN_FORMATS: PlanFormat[] = ['text', 'markdown', 'json'];

/** What a formatter needs: the plan, the statements it renders to (if an engine rendered it), app of each role. */
export interface PlanView {
  plan: Plan;
  /** Statement displays per change index (secrets already masked); absent for the neutral plan. */
  statements?: Statement[][];
  roleApps: ReadonlyMap<string, string>;
  /** e.g. 'offline (creation plan from an empty database)' or 'live: host/db'. */
  source: string;
}

/** "; secrets file: 225 pending passwords to record as delivered", or '' when the file needs nothing. */
function secretsFileWork(plan: Plan): string {
  const work: string[] = [];
  const promote = plan.secretsFile?.promote.length ?? 0;
  const discard = plan.secretsFile?.discard.length ?? 0;
  if (promote) work.push(`${counted(promote, 'pending password')} the server holds to record as delivered`);
  if (discard) work.push(`${counted(discard, 'pending password')} the server never took to drop`);
  return work.length ? `; secrets file: ${work.join(', ')}` : '';
}

function headline(plan: Plan): string {
  const s = summarize(plan.changes);
  if (!hasWork(plan)) return `No changes. ${printable(plan.database)} matches the policy.`;
  return `Plan: ${s.create} to add, ${s.update} to change, ${s.drop} to remove${secretsFileWork(plan)}.`;
}

export function formatPlanText(view: PlanView): string {
  let text = '';
  for (const piece of planTextPieces(view)) text += piece;
  return text;
}

/**
 * The text plan in pieces of whole lines, a few hundred changes each (an apply prints them while its
 * first round trips run). Built by concatenation: at thousands of statements, a string per line was
 * much of a command's time.
 */
export function* planTextPieces(view: PlanView, changesPerPiece = 200): Generator<string> {
  const { plan } = view;
  // Names are printed escaped (printable): a name cannot add a line, or a terminal escape, to the plan.
  const brackets = plan.engine !== 'postgres';
  let piece = `pmgrants plan for database ${printable(plan.database)} (${plan.engine}, ${printable(view.source)})\n\n`;
  for (let i = 0; i < plan.changes.length; i++) {
    const d = describeChange(plan.changes[i]);
    piece += `  ${d.sign} ${printable(d.text)}\n`;
    for (const st of view.statements?.[i] ?? []) {
      const display = printableStatement(st.display, brackets);
      piece += display.includes('\n') ? `      ${display.split('\n').join('\n      ')}\n` : `      ${display}\n`;
    }
    if ((i + 1) % changesPerPiece === 0) {
      yield piece;
      piece = '';
    }
  }
  if (plan.changes.length) piece += '\n';
  for (const w of plan.warnings) piece += `warning: ${printable(w)}\n`;
  if (plan.locks?.length) piece += `Locks:\n${plan.locks.map((l) => `  ${printable(l)}\n`).join('')}\n`;
  yield `${piece}${headline(plan)}\n`;
}

const KIND_LABEL: Record<Change['kind'], string> = {
  'create-login': 'logins created',
  'rotate-password': 'passwords rotated',
  'drop-login': 'logins dropped',
  'create-user': 'users created',
  'drop-user': 'users dropped',
  'create-role': 'roles created',
  'drop-role': 'roles dropped',
  'create-schema': 'schemas created',
  'alter-schema-owner': 'schema owners changed',
  'add-member': 'memberships added',
  'drop-member': 'memberships removed',
  grant: 'permissions granted',
  revoke: 'permissions revoked',
  'create-masking-key': 'pseudonym keys created',
  'create-masked-view': 'masked views created',
  'replace-masked-view': 'masked views replaced',
  'drop-masked-view': 'masked views dropped',
  'mask-columns': 'tables with personal columns masked',
};

/** Markdown text: unprintable characters escaped, and those that would start markup or a table cell. */
function mdEscape(s: string): string {
  return printable(s).replace(/[|\\`*_{}[\]<>#]/g, (c) => `\\${c}`);
}

/** An inline code span of any text: delimited by more backticks than any run inside it (CommonMark). */
function mdCode(s: string): string {
  const text = printable(s);
  const longest = maxOf((text.match(/`+/g) ?? []).map((r) => r.length), 0);
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A fenced code block around lines: its fence longer than any backtick run a line starts with. */
function mdFence(info: string, lines: readonly string[]): string[] {
  let longest = 2;
  for (const l of lines) {
    const run = /^ {0,3}(`+)/.exec(l);
    if (run && run[1].length > longest) longest = run[1].length;
  }
  const fence = '`'.repeat(longest + 1);
  return [fence + info, ...lines, fence];
}

/** A compact pull-request comment: counts per kind, then per app; revocations and DENY stand out. */
export function formatPlanMarkdown(view: PlanView): string {
  const { plan } = view;
  const out: string[] = [`### pmgrants plan: ${mdCode(plan.database)} (${plan.engine})`, '', `**${headline(plan)}**`, ''];
  if (plan.changes.length === 0) {
    for (const w of plan.warnings) out.push(`> :warning: ${mdEscape(w)}`);
    return out.join('\n') + '\n';
  }
  const counts = new Map<string, number>();
  for (const c of plan.changes) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
  out.push('| change | count |', '| --- | ---: |');
  for (const [kind, n] of counts) out.push(`| ${KIND_LABEL[kind as Change['kind']]} | ${n} |`);
  out.push('');
  const groups = new Map<string, number[]>();
  plan.changes.forEach((c, i) => {
    const app = changeApp(c, view.roleApps) ?? '(warehouse-wide)';
    const group = groups.get(app);
    if (group) group.push(i);
    else groups.set(app, [i]);
  });
  const ordered = [...groups.keys()].sort((a, b) => (a.startsWith('(') ? -1 : b.startsWith('(') ? 1 : a.localeCompare(b)));
  for (const app of ordered) {
    out.push(`#### ${mdEscape(app)}`, '');
    const lines: string[] = [];
    for (const i of groups.get(app)!) {
      const c = plan.changes[i];
      const d = describeChange(c);
      const loud = c.kind === 'revoke' || c.kind.startsWith('drop') || (c.kind === 'grant' && c.permission.effect === 'DENY');
      lines.push(`${d.sign === '~' ? '!' : d.sign} ${loud && d.sign !== '-' ? '(!) ' : ''}${printable(d.text)}`);
    }
    pushAll(out, mdFence('diff', lines)).push('');
  }
  if (view.statements) {
    const all = view.statements.flat();
    const brackets = plan.engine !== 'postgres';
    out.push(`<details><summary>${all.length} statement${all.length === 1 ? '' : 's'} (${plan.engine}; passwords masked)</summary>`, '');
    pushAll(out, mdFence('sql', all.map((st) => printableStatement(st.display, brackets)))).push('', '</details>', '');
  }
  for (const w of plan.warnings) out.push(`> :warning: ${mdEscape(w)}`);
  for (const l of plan.locks ?? []) out.push(`> :lock: ${mdEscape(l)}`);
  return out.join('\n') + '\n';
}

/** Counts per kind and the headline: for progress output where the full plan would drown the point. */
export function formatPlanSummary(view: PlanView): string {
  const counts = new Map<Change['kind'], number>();
  for (const c of view.plan.changes) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
  const lines = [...counts].map(([kind, n]) => `  ${String(n).padStart(5)}  ${KIND_LABEL[kind]}`);
  return [`pmgrants plan for database ${printable(view.plan.database)} (${view.plan.engine}, ${printable(view.source)})`, ...lines, headline(view.plan)].join('\n') + '\n';
}

/** Stable, machine-readable plan (schemas/plan.schema.json). */
export function formatPlanJson(view: PlanView): string {
  const { plan } = view;
  const s = summarize(plan.changes);
  const doc = {
    formatVersion: 1,
    database: plan.database,
    engine: plan.engine,
    source: view.source,
    summary: {
      add: s.create,
      change: s.update,
      remove: s.drop,
      ...(plan.secretsFile ? { secretsFile: { promote: plan.secretsFile.promote.length, discard: plan.secretsFile.discard.length } } : {}),
    },
    changes: plan.changes.map((c, i) => {
      const d = describeChange(c);
      return {
        action: d.sign === '+' ? 'add' : d.sign === '-' ? 'remove' : 'change',
        kind: c.kind,
        app: changeApp(c, view.roleApps) ?? null,
        description: d.text,
        ...(c.kind === 'drop-member' && c.expired !== undefined ? { expired: c.expired } : {}),
        change: c,
        statements: (view.statements?.[i] ?? []).map((st) => st.display),
      };
    }),
    warnings: plan.warnings,
    ...(plan.locks?.length ? { locks: plan.locks } : {}),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

export function formatPlan(format: PlanFormat, view: PlanView): string {
  switch (format) {
    case 'text':
      return formatPlanText(view);
    case 'markdown':
      return formatPlanMarkdown(view);
    case 'json':
      return formatPlanJson(view);
    default: {
      const never: never = format;
      throw new Error(`unknown plan format ${String(never)}`);
    }
  }
}
