import { describe, expect, it } from 'vitest';
import { Change } from '../../provider/plan/change';
import { DesiredState, Permission } from '../../provider/model/types';
import { prepareStatements, renderChange } from '../../provider/engines/postgres';

const desired = { database: 'W', appLogins: {} } as unknown as DesiredState;
const grant = (grantee: string, privilege: string, on: Permission['on'], withGrantOption = false): Change => ({
  kind: 'grant',
  permission: { grantee, on, privilege, effect: 'GRANT', withGrantOption },
});
const revoke = (grantee: string, privilege: string, on: Permission['on']): Change => ({
  kind: 'revoke',
  permission: { grantee, on, privilege, effect: 'GRANT', withGrantOption: false },
});
const tables = { type: 'engine', kind: 'tables', name: 's' } as const;
const render = (changes: Change[]) => changes.flatMap((c) => renderChange(c, desired));
const prepare = (changes: Change[]) => prepareStatements(render(changes), () => 'x'.repeat(32));

describe('prepareStatements: consecutive GRANTs go out as few commands', () => {
  it('one command per target and privilege set, naming every grantee', () => {
    const { units } = prepare([
      grant('a', 'SELECT', tables),
      grant('a', 'INSERT', tables),
      grant('b', 'SELECT', tables),
      grant('b', 'INSERT', tables),
      grant('c', 'SELECT', tables),
      grant('a', 'USAGE', { type: 'schema', name: 's' }),
      grant('c', 'USAGE', { type: 'schema', name: 's' }),
    ]);
    expect(units.map((u) => u.sql)).toEqual([
      'GRANT INSERT, SELECT ON ALL TABLES IN SCHEMA "s" TO "a", "b"',
      'GRANT SELECT ON ALL TABLES IN SCHEMA "s" TO "c"',
      'GRANT USAGE ON SCHEMA "s" TO "a", "c"',
    ]);
    expect(units.map((u) => u.covers)).toEqual([[0, 1, 2, 3], [4], [5, 6]]);
  });

  it('default privileges keep their role and schema; the grant option is its own group', () => {
    const defaults = { type: 'engine', kind: 'default-tables', name: 's', forRole: 'o' } as const;
    const { units } = prepare([grant('a', 'SELECT', defaults), grant('b', 'SELECT', defaults), grant('c', 'SELECT', tables, true), grant('d', 'SELECT', tables, true)]);
    expect(units.map((u) => u.sql)).toEqual([
      'ALTER DEFAULT PRIVILEGES FOR ROLE "o" IN SCHEMA "s" GRANT SELECT ON TABLES TO "a", "b"',
      'GRANT SELECT ON ALL TABLES IN SCHEMA "s" TO "c", "d" WITH GRANT OPTION',
    ]);
  });

  it('memberships by role and admin option; revokes apart from grants; runs never cross other statements', () => {
    const { units } = prepare([
      revoke('a', 'SELECT', tables),
      revoke('b', 'SELECT', tables),
      grant('a', 'INSERT', tables),
      { kind: 'add-member', membership: { role: 'r', member: 'm1' } },
      { kind: 'add-member', membership: { role: 'r', member: 'm2' } },
      { kind: 'add-member', membership: { role: 'r', member: 'm3', admin: true } },
      { kind: 'create-schema', schema: { name: 't', owner: 'o', app: 't' } },
      { kind: 'add-member', membership: { role: 'r', member: 'm4' } },
    ]);
    expect(units.map((u) => u.sql)).toEqual([
      'REVOKE SELECT ON ALL TABLES IN SCHEMA "s" FROM "a", "b"',
      'GRANT INSERT ON ALL TABLES IN SCHEMA "s" TO "a"',
      'GRANT "r" TO "m1", "m2"',
      'GRANT "r" TO "m3" WITH ADMIN OPTION',
      'CREATE SCHEMA IF NOT EXISTS "t" AUTHORIZATION "o"',
      'GRANT "r" TO "m4"',
    ]);
  });

  it('statements it did not render are sent as they are', () => {
    const plain = { sql: 'GRANT SELECT ON ALL TABLES IN SCHEMA "s" TO "a"', params: [], display: 'x', target: 'warehouse' as const };
    const { units } = prepareStatements([plain, { ...plain }]);
    expect(units.map((u) => u.sql)).toEqual([plain.sql, plain.sql]);
  });
});
