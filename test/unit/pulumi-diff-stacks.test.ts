/**
 * `pmgrants diff-stacks <policy> <from> <to>`: the compiled security of two stacks compared, for the
 * reviewer of a promotion. Pure (no database): literal policy and overlays in a temp directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commandHelp, parseCommandArgs } from '../../provider/cli/args';
import { CliIO } from '../../provider/cli/io';
import { PolicyInvalid } from '../../provider/cli/common';
import { compareStacks, diffStacksCommand, diffStacksSpec, formatStackDiffMarkdown, formatStackDiffText } from '../../provider/cli/commands/diff-stacks';
import { PmgrantsError } from '../../provider/model/errors';
import { compilePolicy } from '../../provider/model/compile';
import { loadPolicy } from '../../provider/policy/load';

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-diff-stacks-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const POLICY = `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: wh }
security: { mode: system_managed, rotation: { maxAgeDays: 30 } }
principals:
  admins: { kind: entra-group, objectId: 2b6f1c3e-8d2a-4f0b-9a51-0c7e4d1f2a01 }
  analysts: { kind: entra-group, name: Analysts Dev, objectId: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04 }
apps:
  p2p: { schema: p2p, source: closed, ownerTeam: admins }
  o2c: { schema: o2c, source: open, ownerTeam: admins }
grants:
  - { persona: app_admin, to: [admins] }
  - { persona: data_consumer, to: [analysts], apps: [p2p, o2c] }
`;
fs.writeFileSync(path.join(tmp, 'policy.yaml'), POLICY);
fs.mkdirSync(path.join(tmp, 'stacks'));
fs.writeFileSync(path.join(tmp, 'stacks', 'dev.yaml'), 'apiVersion: pmgrants/v1\noverlay:\n  warehouse: { database: wh_dev }\n');
fs.writeFileSync(path.join(tmp, 'stacks', 'dev2.yaml'), 'apiVersion: pmgrants/v1\noverlay:\n  warehouse: { database: wh_dev }\n');
// prod: another database, another group name for the analysts, only p2p, shorter rotation, guardrails.
fs.writeFileSync(
  path.join(tmp, 'stacks', 'prod.yaml'),
  'apiVersion: pmgrants/v1\noverlay:\n  warehouse: { database: wh_prod }\n  security: { rotation: { maxAgeDays: 7 } }\n  principals:\n    analysts: { name: Analysts Prod }\napps: [p2p]\nguardrails:\n  groupsOnly: true\n',
);
fs.writeFileSync(path.join(tmp, 'stacks', 'broken.yaml'), 'apiVersion: pmgrants/v1\napps: [nope]\n');

function stack(name: string) {
  const loaded = loadPolicy(path.join(tmp, 'policy.yaml'), { stack: name, stacksDir: path.join(tmp, 'stacks') });
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return { name, policy: loaded.policy!, desired: compilePolicy(loaded.policy!) };
}

async function run(argv: string[]) {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => (out += t), err: (t) => (err += t), env: {}, interactive: false, confirm: async () => false, cwd: root };
  const { values, positionals } = parseCommandArgs(diffStacksSpec, argv);
  const code = await diffStacksCommand(io, values, positionals);
  return { code, out, err };
}

describe('compareStacks', () => {
  it('the same policy under two overlays that change nothing compiles the same', () => {
    const diff = compareStacks(stack('dev'), stack('dev2'));
    expect(diff.settings).toEqual([]);
    expect(diff.objects).toEqual([]);
    expect(formatStackDiffText(diff, 'policy.yaml')).toBe('pmgrants diff-stacks policy.yaml: dev -> dev2\n\nNo differences: dev and dev2 compile to the same security.\n');
  });

  it('dev -> prod: settings, the app prod leaves out, and the renamed group, per app', () => {
    const diff = compareStacks(stack('dev'), stack('prod'));
    expect(diff.settings).toEqual([
      { setting: 'database', from: 'wh_dev', to: 'wh_prod' },
      { setting: 'rotation max age (days)', from: '30', to: '7' },
      { setting: 'guardrails', from: '(none)', to: '{"groupsOnly":true}' },
    ]);
    const o2c = diff.objects.filter((o) => o.app === 'o2c');
    expect(o2c.length).toBeGreaterThan(0);
    expect(o2c.every((o) => o.sign === '-')).toBe(true);
    expect(o2c.map((o) => o.text)).toContain('schema o2c owned by pmg_o2c_owner');
    expect(diff.objects.filter((o) => o.app === 'p2p')).toEqual([
      { sign: '-', app: 'p2p', text: 'member Analysts Dev of pmg_p2p_data_consumer' },
      { sign: '+', app: 'p2p', text: 'member Analysts Prod of pmg_p2p_data_consumer' },
    ]);
    expect(diff.objects.filter((o) => o.app === undefined)).toEqual([
      { sign: '-', text: 'user Analysts Dev from Entra (entra-group, object id 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04)' },
      { sign: '+', text: 'user Analysts Prod from Entra (entra-group, object id 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04)' },
    ]);
    expect(diff.counts.onlyTo).toBe(2);
    expect(diff.counts.changed).toBe(0);
    expect(diff.counts.onlyFrom).toBe(o2c.length + 2);
  });

  it('the same object with other properties is "changed" (~)', () => {
    const dev = stack('dev');
    const other = { ...dev, name: 'other', desired: { ...dev.desired, schemas: dev.desired.schemas.map((s) => (s.name === 'p2p' ? { ...s, owner: 'someone_else' } : s)) } };
    const diff = compareStacks(dev, other);
    expect(diff.objects).toEqual([{ sign: '~', app: 'p2p', text: 'schema p2p owned by pmg_p2p_owner -> schema p2p owned by someone_else' }]);
    expect(diff.counts).toEqual({ onlyFrom: 0, onlyTo: 0, changed: 1 });
  });
});

describe('compareStacks: personal data', () => {
  it('a stack that masks another column, or masks one otherwise, says so per app', () => {
    const dev = stack('dev');
    const masked = (columns: Record<string, unknown>) => {
      const policy = { ...dev.policy, apps: { ...dev.policy.apps, p2p: { ...dev.policy.apps.p2p, personalData: { columns } } } } as typeof dev.policy;
      return { name: 'x', policy, desired: compilePolicy(policy) };
    };
    const from = masked({ '*.user_name': 'pseudonym', 'vendors.iban': { mask: 'partial', first: 4, last: 2 } });
    const to = masked({ '*.user_name': 'pseudonym', 'vendors.iban': 'redact', 'vendors.contact_*': { mask: 'redact', text: 'n/a' } });
    const diff = compareStacks({ ...from, name: 'dev' }, { ...to, name: 'prod' });
    expect(diff.objects.filter((o) => o.text.startsWith('personal column'))).toEqual([
      { sign: '+', app: 'p2p', text: 'personal column vendors.contact_*: redact (n/a)' },
      { sign: '~', app: 'p2p', text: 'personal column vendors.iban: partial (first 4, last 2) -> personal column vendors.iban: redact (***)' },
    ]);
    expect(compareStacks({ ...from, name: 'a' }, { ...from, name: 'b' }).objects).toEqual([]);
  });
});

describe('formats', () => {
  it('text groups by app, warehouse-wide first, and ends with one summary line', () => {
    const text = formatStackDiffText(compareStacks(stack('dev'), stack('prod')), 'policy.yaml');
    const lines = text.split('\n');
    expect(lines[0]).toBe('pmgrants diff-stacks policy.yaml: dev -> prod');
    expect(lines).toContain('  ~ database                 wh_dev -> wh_prod');
    expect(lines.indexOf('  warehouse-wide:')).toBeLessThan(lines.indexOf('  app o2c:'));
    expect(lines.indexOf('  app o2c:')).toBeLessThan(lines.indexOf('  app p2p:'));
    expect(lines).toContain('    + member Analysts Prod of pmg_p2p_data_consumer');
    expect(lines[lines.length - 2]).toMatch(/^3 settings differ; 2 only in prod, \d+ only in dev, 0 changed\.$/);
  });

  it('markdown: a settings table and one collapsible diff block per app, with markdown escaped', () => {
    const md = formatStackDiffMarkdown(compareStacks(stack('dev'), stack('prod')), 'policy.yaml');
    expect(md).toContain('### pmgrants diff-stacks: `dev` → `prod`');
    expect(md).toContain('| database | wh\\_dev | wh\\_prod |');
    expect(md).toContain('<details><summary>app <code>p2p</code>: 2 differences</summary>');
    expect(md).toContain('+ member Analysts Prod of pmg_p2p_data_consumer   (only in prod)');
    expect(md).toContain('- member Analysts Dev of pmg_p2p_data_consumer   (only in dev)');
    expect((md.match(/```diff/g) ?? []).length).toBe(3);
  });
});

describe('the command', () => {
  it('prints the text comparison and exits 0; --detailed-exitcode says whether they differ', async () => {
    const policy = path.join(tmp, 'policy.yaml');
    const dir = path.join(tmp, 'stacks');
    const r = await run([policy, 'dev', 'prod', '--stacks-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`pmgrants diff-stacks ${policy}: dev -> prod`);
    expect((await run([policy, 'dev', 'prod', '--stacks-dir', dir, '--detailed-exitcode'])).code).toBe(2);
    expect((await run([policy, 'dev', 'dev2', '--stacks-dir', dir, '--detailed-exitcode'])).code).toBe(0);
    expect((await run([policy, 'dev', 'prod', '--stacks-dir', dir, '-f', 'markdown'])).out).toContain('### pmgrants diff-stacks');
  });

  it('works on the repository\'s examples and stacks', async () => {
    const r = await run([path.join(root, 'examples', 'uipath-system-managed.yaml'), 'dev', 'prod', '--stacks-dir', path.join(root, 'stacks')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('~ database');
    expect(r.out).toContain('PM_Warehouse_Dev -> PM_Warehouse_Prod');
  });

  it('user errors are one sentence: wrong arguments, unknown format, an invalid stack', async () => {
    await expect(run(['only-one.yaml'])).rejects.toThrow(new PmgrantsError('diff-stacks takes a policy file and two stack names (e.g. "pmgrants diff-stacks policy.yaml dev prod"), not 1 argument'));
    await expect(run([path.join(tmp, 'policy.yaml'), 'dev', 'prod', '--format', 'json'])).rejects.toThrow('--format must be one of text, markdown, not "json"');
    // An invalid stack: its diagnostics on stderr, then PolicyInvalid, which main turns into exit 1.
    let err = '';
    const io: CliIO = { out: () => undefined, err: (t) => (err += t), env: {}, interactive: false, confirm: async () => false, cwd: root };
    const broken = diffStacksCommand(io, { 'stacks-dir': path.join(tmp, 'stacks') }, [path.join(tmp, 'policy.yaml'), 'dev', 'broken']);
    await expect(broken).rejects.toBeInstanceOf(PolicyInvalid);
    expect(err).toContain('error overlay-unknown-app stack lists app "nope", which the policy does not define');
  });

  it('has help that names its usage', () => {
    expect(commandHelp(diffStacksSpec)).toContain('Usage: pmgrants diff-stacks <policy.yaml> <from-stack> <to-stack>');
  });
});
