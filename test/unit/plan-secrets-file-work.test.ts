/**
 * A pipeline gate sees what the secrets file still needs: after an interrupted rotate the server holds
 * pending passwords the file has not recorded as delivered. That is work for apply, so plan counts it
 * in its headline (every format) and `--detailed-exitcode` says 2, never "No changes".
 * The plan command's exit code is tested live in test/e2e/credentials-fault.e2e.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addDeliveryNotes, SecretsFile } from '../../provider/cli/secrets';
import { viewOf } from '../../provider/pipeline/plan';
import { compilePolicy } from '../../provider/model/compile';
import { Policy } from '../../provider/model/types';
import { hasWork } from '../../provider/plan/change';
import { diffState } from '../../provider/plan/diff';
import { formatPlan } from '../../provider/plan/format';
import { asApplied } from '../support/states';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-file-work-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const policy = {
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database: 'fdb' },
  security: { mode: 'system_managed' },
  principals: {},
  apps: { p2p: { schema: 'p2p', source: 'closed' }, o2c: { schema: 'o2c', source: 'closed' }, inv: { schema: 'inv', source: 'closed' } },
  grants: [],
} as unknown as Policy;
const desired = compilePolicy(policy);
const [a, b, c] = desired.logins.map((l) => l.name);

/** A file where every login was delivered (gen 1) and a rotate staged gen 2 for a and b, then was killed. */
function interruptedRotate(name: string): SecretsFile {
  const file = path.join(dir, name);
  const store = SecretsFile.open(file, { forWriting: true });
  store.stagePending([a, b, c].map((login) => ({ login, password: `old-${login}`, generation: `${login}-1` })), 'fdb');
  store.promote([a, b, c], 'fdb');
  store.stagePending([a, b].map((login) => ({ login, password: `new-${login}`, generation: `${login}-2` })), 'fdb');
  return SecretsFile.open(file, { forWriting: false });
}

function planWith(store: SecretsFile, held: Record<string, string>) {
  const actual = { ...asApplied(desired), passwordGeneration: held };
  const plan = diffState(desired, actual, { delivered: store.delivered() });
  addDeliveryNotes(plan, desired, store, actual);
  return plan;
}

describe('work on the secrets file is change', () => {
  it('pending passwords the server holds: counted in the headline of every format, and plan has work (exit 2)', () => {
    const store = interruptedRotate('promote.json');
    // The server took a's new password; b's rotate never reached it (b still has gen 1): one to record, one to drop.
    const plan = planWith(store, { [a]: `${a}-2`, [b]: `${b}-1`, [c]: `${c}-1` });
    expect(plan.changes).toEqual([]);
    expect(plan.secretsFile).toEqual({ promote: [a], discard: [b] });
    expect(hasWork(plan)).toBe(true);
    const view = viewOf({ desired, plan }, 'live: test');
    const headline = 'Plan: 0 to add, 0 to change, 0 to remove; secrets file: 1 pending password the server holds to record as delivered, 1 pending password the server never took to drop.';
    expect(formatPlan('text', view).trimEnd().split('\n').pop()).toBe(headline);
    expect(formatPlan('markdown', view)).toContain(`**${headline}**`);
    expect(formatPlan('text', view)).not.toContain('No changes');
    expect(JSON.parse(formatPlan('json', view)).summary).toEqual({ add: 0, change: 0, remove: 0, secretsFile: { promote: 1, discard: 1 } });
  });

  it('225 pending passwords the server took (a rotate --all killed after its commit): "225 pending passwords"', () => {
    const file = path.join(dir, 'many.json');
    const many = SecretsFile.open(file, { forWriting: true });
    many.stagePending([a, b, c].map((login) => ({ login, password: `p-${login}`, generation: `${login}-9` })), 'fdb');
    const plan = planWith(SecretsFile.open(file, { forWriting: false }), { [a]: `${a}-9`, [b]: `${b}-9`, [c]: `${c}-9` });
    expect(plan.secretsFile?.promote).toEqual([a, b, c].sort());
    expect(formatPlan('text', viewOf({ desired, plan }, 'live: test'))).toMatch(/; secrets file: 3 pending passwords the server holds to record as delivered\.\n$/);
  });

  it('a file with nothing pending: no work, "No changes"', () => {
    const file = path.join(dir, 'clean.json');
    const clean = SecretsFile.open(file, { forWriting: true });
    clean.stagePending([a, b, c].map((login) => ({ login, password: `p-${login}`, generation: `${login}-1` })), 'fdb');
    clean.promote([a, b, c], 'fdb');
    const plan = planWith(SecretsFile.open(file, { forWriting: false }), { [a]: `${a}-1`, [b]: `${b}-1`, [c]: `${c}-1` });
    expect(plan.secretsFile).toBeUndefined();
    expect(hasWork(plan)).toBe(false);
    expect(formatPlan('text', viewOf({ desired, plan }, 'live: test'))).toMatch(/No changes\. fdb matches the policy\.\n$/);
  });
});
