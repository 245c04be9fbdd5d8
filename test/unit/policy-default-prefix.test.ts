/**
 * `validate` tells, before plan refuses a second warehouse on the same server, that the policy keeps the
 * default prefix (rule default-prefix, info); a prefix of its own (in the policy or a stack overlay) and
 * the demo's private database need no note.
 */
import { describe, expect, it } from 'vitest';
import { checkPolicy } from '../../provider/policy/check';
import { parseSource } from '../../provider/policy/source';

const policy = (extra: string, database = 'pm_warehouse') =>
  parseSource(
    'p.yaml',
    `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: ${database} }
security: { mode: system_managed }
principals: { team: { kind: database-role } }
apps: { p2p: { schema: p2p, ownerTeam: team } }
grants: [{ persona: data_consumer, to: [team], apps: [p2p] }]
${extra}`,
  ).source!;
const notes = (base: ReturnType<typeof policy>, stack?: ReturnType<typeof policy>) => checkPolicy(base, stack).diagnostics.filter((d) => d.code === 'default-prefix');

describe('default-prefix', () => {
  it('notes the default prefix at the database, saying plan refuses a second warehouse and how to avoid it', () => {
    const [d] = notes(policy(''));
    expect(d).toMatchObject({ severity: 'info', line: 2, path: '/warehouse/database' });
    expect(d.message).toBe('names are generated with the default prefix "pmg_": only one warehouse per server can use it, and plan refuses a second one');
    expect(d.hint).toContain('options.prefix');
  });

  it('says nothing when the policy or its stack sets a prefix, or for the demo database', () => {
    expect(notes(policy('options: { prefix: pmg_p2p_ }'))).toEqual([]);
    const stack = parseSource('s.yaml', 'apiVersion: pmgrants/v1\noverlay:\n  options: { prefix: pmg_dev_ }\n').source!;
    expect(notes(policy(''), stack)).toEqual([]);
    expect(notes(policy('', 'pmgrants_demo'))).toEqual([]);
  });
});
