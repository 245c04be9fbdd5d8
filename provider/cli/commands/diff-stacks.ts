import { PmgrantsError } from '../../model/errors';
import { compilePolicy } from '../../model/compile';
import { membershipKey, permissionKey } from '../../model/state';
import { DesiredState, Policy, Securable } from '../../model/types';
import { describeChange } from '../../plan/describe';
import { CommandSpec, oneOf } from '../args';
import { loadValidPolicy } from '../common';
import { CliIO, EXIT } from '../io';
import { maxOf } from '../../model/collections';
import { MaskSpec, REDACTED_TEXT } from '../../model/masking';

/**
 * `pmgrants diff-stacks <policy> <from> <to>`: how the compiled security of two stacks differs, for
 * whoever reviews a promotion (dev -> prod). Pure: both stacks are compiled from the same policy with
 * their overlays and the DesiredStates compared; no database is involved.
 */
export const diffStacksSpec: CommandSpec = {
  name: 'diff-stacks',
  summary: 'show how the compiled security of two stacks differs (for a promotion review)',
  usage: 'pmgrants diff-stacks <policy.yaml> <from-stack> <to-stack> [--stacks-dir DIR] [--format text|markdown] [--detailed-exitcode]',
  options: {
    'stacks-dir': { type: 'string', help: 'where stack overlays live (default: ./stacks, then next to the policy)', placeholder: 'DIR' },
    format: { type: 'string', short: 'f', help: 'text (default) or markdown (for a pull-request comment)', placeholder: 'FORMAT' },
    'detailed-exitcode': { type: 'boolean', help: 'exit 0 when the stacks compile to the same security, 2 when they differ, 1 on error' },
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  },
  details:
    'Both stacks are the policy with stacks/<stack>.yaml merged onto it. "+" is what <to-stack> has and <from-stack> has not, "-" the reverse, "~" the same object with other properties. When the stacks have different prefixes (stacks that share a server), the prefix is listed as a setting and the generated names are compared without it.\nExit: 0 ok, 1 policy invalid for either stack, 2 usage error (with --detailed-exitcode: 2 when the stacks differ).',
};

export type StackDiffFormat = 'text' | 'markdown';
export const STACK_DIFF_FORMATS: StackDiffFormat[] = ['text', 'markdown'];

export interface SettingDiff {
  setting: string;
  from: string;
  to: string;
}

export interface ObjectDiff {
  sign: '+' | '-' | '~';
  /** The app the object belongs to, or undefined for warehouse-wide objects. */
  app?: string;
  text: string;
}

export interface StackDiff {
  from: string;
  to: string;
  settings: SettingDiff[];
  objects: ObjectDiff[];
  counts: { onlyFrom: number; onlyTo: number; changed: number };
}

/** JSON with sorted keys, so two equal objects print the same. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );
}

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  return typeof v === 'string' ? v : canonical(v);
}

/** Settings of a compiled stack a reviewer cares about, by name. */
function settingsOf(policy: Policy, desired: DesiredState): Record<string, unknown> {
  return {
    engine: policy.warehouse.engine,
    database: desired.database,
    server: policy.warehouse.server,
    'security mode': desired.mode,
    enforcement: desired.enforcement,
    prune: desired.prune,
    prefix: desired.prefix,
    'rotation max age (days)': desired.rotationMaxAgeDays,
    guardrails: policy.guardrails && Object.keys(policy.guardrails).length > 0 ? policy.guardrails : undefined,
  };
}

/**
 * The state with the names it generated (those starting with its prefix, not adopted) under another
 * prefix, everywhere they appear.
 */
export function withPrefix(desired: DesiredState, prefix: string): DesiredState {
  const generated = new Set(
    [...desired.logins.filter((l) => !l.adopted), ...desired.roles.filter((r) => !r.adopted), ...desired.users.filter((u) => u.source.type === 'login')]
      .map((p) => p.name)
      .filter((n) => n.startsWith(desired.prefix)),
  );
  const rename = (n: string) => (generated.has(n) ? `${prefix}${n.slice(desired.prefix.length)}` : n);
  const renameOn = (on: Securable): Securable =>
    on.type === 'role' ? { ...on, name: rename(on.name) } : on.type === 'engine' && on.forRole !== undefined ? { ...on, forRole: rename(on.forRole) } : on;
  return {
    ...desired,
    prefix,
    logins: desired.logins.map((l) => ({ ...l, name: rename(l.name) })),
    users: desired.users.map((u) => ({ ...u, name: rename(u.name), ...(u.source.type === 'login' ? { source: { ...u.source, login: rename(u.source.login) } } : {}) })),
    roles: desired.roles.map((r) => ({ ...r, name: rename(r.name) })),
    schemas: desired.schemas.map((sc) => ({ ...sc, owner: rename(sc.owner) })),
    memberships: desired.memberships.map((m) => ({ ...m, role: rename(m.role), member: rename(m.member) })),
    permissions: desired.permissions.map((p) => ({ ...p, grantee: rename(p.grantee), on: renameOn(p.on) })),
    appLogins: Object.fromEntries(Object.entries(desired.appLogins).map(([app, login]) => [app, rename(login)])),
  };
}

function appIndex(states: DesiredState[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of states) {
    for (const r of s.roles) if (r.app) m.set(r.name, r.app);
    for (const u of s.users) if (u.app) m.set(u.name, u.app);
    for (const l of s.logins) if (l.app) m.set(l.name, l.app);
    for (const sc of s.schemas) m.set(`schema:${sc.name}`, sc.app);
  }
  return m;
}

/**
 * Compare two compiled stacks. Objects are matched by the same keys the diff uses (names; role+member;
 * grantee+securable+privilege) and listed per app in a deterministic order.
 */
export function compareStacks(from: { name: string; policy: Policy; desired: DesiredState }, to: { name: string; policy: Policy; desired: DesiredState }): StackDiff {
  const settings: SettingDiff[] = [];
  const a = settingsOf(from.policy, from.desired);
  const b = settingsOf(to.policy, to.desired);
  for (const key of Object.keys(a)) {
    if (canonical(a[key]) !== canonical(b[key])) settings.push({ setting: key, from: show(a[key]), to: show(b[key]) });
  }
  // Stacks that share a server need a prefix each (docs/pulumi.md): the names they generate are then
  // compared under <to-stack>'s prefix, so the objects show what really differs.
  if (from.desired.prefix !== to.desired.prefix) from = { ...from, desired: withPrefix(from.desired, to.desired.prefix) };

  const apps = appIndex([from.desired, to.desired]);
  const objects: (ObjectDiff & { order: string })[] = [];
  const counts = { onlyFrom: 0, onlyTo: 0, changed: 0 };
  const compare = <T>(kindOrder: number, fromItems: T[], toItems: T[], key: (t: T) => string, text: (t: T) => string, appOf: (t: T) => string | undefined) => {
    const left = new Map(fromItems.map((t) => [key(t), t]));
    const right = new Map(toItems.map((t) => [key(t), t]));
    const push = (sign: ObjectDiff['sign'], t: T, line: string) => {
      const app = appOf(t);
      objects.push({ sign, ...(app ? { app } : {}), text: line, order: `${app ?? ''}\u0000${kindOrder}\u0000${key(t)}` });
    };
    for (const [k, t] of left) {
      const other = right.get(k);
      if (!other) {
        counts.onlyFrom++;
        push('-', t, text(t));
      } else if (canonical(t) !== canonical(other)) {
        counts.changed++;
        const before = text(t);
        const after = text(other);
        push('~', other, before === after ? `${after} (${canonical(t)} -> ${canonical(other)})` : `${before} -> ${after}`);
      }
    }
    for (const [k, t] of right) {
      if (!left.has(k)) {
        counts.onlyTo++;
        push('+', t, text(t));
      }
    }
  };
  const d = (c: Parameters<typeof describeChange>[0]) => describeChange(c).text;
  const A = from.desired;
  const B = to.desired;
  compare(0, A.schemas, B.schemas, (s) => s.name, (s) => d({ kind: 'create-schema', schema: s }), (s) => s.app);
  compare(1, A.logins, B.logins, (l) => l.name, (l) => d({ kind: 'create-login', login: l }), (l) => l.app);
  compare(2, A.roles, B.roles, (r) => r.name, (r) => d({ kind: 'create-role', role: r }), (r) => r.app);
  compare(3, A.users, B.users, (u) => u.name, (u) => d({ kind: 'create-user', user: u }), (u) => u.app);
  compare(4, A.memberships, B.memberships, membershipKey, (m) => d({ kind: 'add-member', membership: m }), (m) => apps.get(m.role));
  compare(
    5,
    A.permissions,
    B.permissions,
    permissionKey,
    (p) => d({ kind: 'grant', permission: p }).replace(/^grant /, ''),
    (p) => (p.on.type === 'schema' ? apps.get(`schema:${p.on.name}`) : p.on.type === 'role' ? apps.get(p.on.name) : undefined) ?? apps.get(p.grantee),
  );
  // Personal data: each app's personal-column patterns and their masks (a stack may mask more, or less).
  const personal = (desired: DesiredState) => (desired.masking?.apps ?? []).flatMap((m) => m.rules.map((r) => ({ app: m.app, pattern: r.pattern, mask: r.mask })));
  compare(
    6,
    personal(A),
    personal(B),
    (r) => `${r.app}\u0000${r.pattern}`,
    (r) => `personal column ${r.pattern}: ${maskWords(r.mask)}`,
    (r) => r.app,
  );
  objects.sort((x, y) => (x.order < y.order ? -1 : x.order > y.order ? 1 : 0));
  return { from: from.name, to: to.name, settings, objects: objects.map(({ order: _o, ...rest }) => rest), counts };
}

/** A mask as a plan reader says it: "redact (n/a)", "partial (first 2, last 0)", "pseudonym". */
function maskWords(mask: MaskSpec): string {
  if (mask.mask === 'redact') return `redact (${mask.text ?? REDACTED_TEXT})`;
  if (mask.mask === 'partial') return `partial (first ${mask.first ?? 1}, last ${mask.last ?? 1})`;
  return mask.mask;
}

function headline(diff: StackDiff): string {
  if (diff.settings.length === 0 && diff.objects.length === 0) return `No differences: ${diff.from} and ${diff.to} compile to the same security.`;
  const { onlyFrom, onlyTo, changed } = diff.counts;
  return `${diff.settings.length} setting${diff.settings.length === 1 ? '' : 's'} differ; ${onlyTo} only in ${diff.to}, ${onlyFrom} only in ${diff.from}, ${changed} changed.`;
}

function groups(diff: StackDiff): [string, ObjectDiff[]][] {
  const byApp = new Map<string, ObjectDiff[]>();
  for (const o of diff.objects) {
    const key = o.app ?? '';
    byApp.set(key, [...(byApp.get(key) ?? []), o]);
  }
  return [...byApp.entries()];
}

export function formatStackDiffText(diff: StackDiff, policyFile: string): string {
  const out = [`pmgrants diff-stacks ${policyFile}: ${diff.from} -> ${diff.to}`, ''];
  if (diff.settings.length > 0) {
    const width = maxOf(diff.settings.map((s) => s.setting.length), 0);
    for (const s of diff.settings) out.push(`  ~ ${s.setting.padEnd(width)}  ${s.from} -> ${s.to}`);
    out.push('');
  }
  for (const [app, items] of groups(diff)) {
    out.push(app ? `  app ${app}:` : '  warehouse-wide:');
    for (const o of items) out.push(`    ${o.sign} ${o.text}`);
    out.push('');
  }
  out.push(headline(diff));
  return out.join('\n') + '\n';
}

function md(s: string): string {
  return s.replace(/[|\\`*_{}[\]<>#]/g, (c) => `\\${c}`);
}

export function formatStackDiffMarkdown(diff: StackDiff, policyFile: string): string {
  const out = [`### pmgrants diff-stacks: \`${diff.from}\` → \`${diff.to}\``, '', `Policy \`${policyFile}\`. **${md(headline(diff))}**`, ''];
  if (diff.settings.length > 0) {
    out.push(`| setting | ${md(diff.from)} | ${md(diff.to)} |`, '| --- | --- | --- |');
    for (const s of diff.settings) out.push(`| ${md(s.setting)} | ${md(s.from)} | ${md(s.to)} |`);
    out.push('');
  }
  const label: Record<ObjectDiff['sign'], string> = { '+': `only in ${diff.to}`, '-': `only in ${diff.from}`, '~': 'changed' };
  for (const [app, items] of groups(diff)) {
    out.push(`<details><summary>${app ? `app <code>${md(app)}</code>` : 'warehouse-wide'}: ${items.length} difference${items.length === 1 ? '' : 's'}</summary>`, '');
    out.push('```diff');
    for (const o of items) out.push(`${o.sign === '~' ? '!' : o.sign} ${o.text}   (${label[o.sign]})`);
    out.push('```', '</details>', '');
  }
  return out.join('\n') + '\n';
}

export async function diffStacksCommand(io: CliIO, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const format = oneOf('format', values.format, STACK_DIFF_FORMATS, 'text');
  if (positionals.length !== 3) {
    throw new PmgrantsError(`diff-stacks takes a policy file and two stack names (e.g. "pmgrants diff-stacks policy.yaml dev prod"), not ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
  }
  const [file, fromStack, toStack] = positionals;
  const stacksDir = values['stacks-dir'] as string | undefined;
  // Both stacks load the same policy: its warnings (the same text for both) are printed once.
  const printed = new Set<string>();
  const once: CliIO = { ...io, err: (text) => void (printed.has(text) || (printed.add(text), io.err(text))) };
  const load = (stack: string) => {
    const policy = loadValidPolicy(once, file, { stack, ...(stacksDir ? { 'stacks-dir': stacksDir } : {}) });
    return { name: stack, policy, desired: compilePolicy(policy, { now: new Date() }) };
  };
  const diff = compareStacks(load(fromStack), load(toStack));
  io.out(format === 'markdown' ? formatStackDiffMarkdown(diff, file) : formatStackDiffText(diff, file));
  if (values['detailed-exitcode']) return diff.settings.length > 0 || diff.objects.length > 0 ? 2 : EXIT.ok;
  return EXIT.ok;
}
