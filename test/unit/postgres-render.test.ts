import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHANGE_ORDER, Change } from '../../provider/plan/change';
import { DesiredState, Permission } from '../../provider/model/types';
import { PmgrantsError } from '../../provider/model/errors';
import { MaskedView } from '../../provider/model/masking';
import { postgresDialect, renderChange } from '../../provider/engines/postgres';
import { quoteIdent, quoteLiteral } from '../../provider/engines/postgres/quote';

const desired: DesiredState = {
  engine: 'postgres',
  database: 'wh',
  prefix: 'pmg_',
  mode: 'system_managed',
  enforcement: 'authoritative',
  prune: true,
  appLogins: { p2p: 'pmg_p2p_app' },
  logins: [],
  users: [],
  roles: [],
  schemas: [],
  memberships: [],
  permissions: [],
};
const perm = (grantee: string, on: Permission['on'], privilege: string): Permission => ({ grantee, on, privilege, effect: 'GRANT', withGrantOption: false });
const maskedView: MaskedView = {
  app: 'a',
  schema: 's_masked',
  name: 't',
  visibility: 'masked',
  source: { schema: 's', name: 't' },
  columns: [{ name: 'id' }, { name: 'user_name', mask: { mask: 'pseudonym' } }],
  hidden: [],
  owner: 'o',
  readers: ['r'],
  keySchema: 'k',
};
const sqlOf = (c: Change) => renderChange(c, desired).map((s) => s.sql);
const ROLE_OPTIONS = 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT';

describe('renderChange golden SQL, one per change kind', () => {
  it('create-login: a LOGIN role whose password is a trailing $1 placeholder bound to the login; the display masks it', () => {
    const [s, ...rest] = renderChange({ kind: 'create-login', login: { name: 'pmg_p2p_app', purpose: 'app-login', app: 'p2p', password: 'generated' } }, desired);
    // The provisioning role acts as the login, to set default privileges for what the login creates.
    expect(rest.map((r) => r.sql)).toEqual(['GRANT "pmg_p2p_app" TO CURRENT_USER']);
    expect(s).toEqual({
      sql: `CREATE ROLE "pmg_p2p_app" WITH LOGIN ${ROLE_OPTIONS} PASSWORD $1`,
      params: [{ name: '$1', secretFor: 'pmg_p2p_app' }],
      display: `CREATE ROLE "pmg_p2p_app" WITH LOGIN ${ROLE_OPTIONS} PASSWORD '********'`,
      target: 'warehouse',
    });
  });

  it('rotate-password', () => {
    expect(renderChange({ kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'forced' }, desired)).toEqual([
      { sql: 'ALTER ROLE "pmg_p2p_app" WITH PASSWORD $1', params: [{ name: '$1', secretFor: 'pmg_p2p_app' }], display: `ALTER ROLE "pmg_p2p_app" WITH PASSWORD '********'`, target: 'warehouse' },
    ]);
  });

  it("create-user: nothing for a login's own user (same role); a role for a principal, LOGIN for people, NOLOGIN for groups, no password", () => {
    expect(renderChange({ kind: 'create-user', user: { name: 'pmg_p2p_app', purpose: 'app-login', source: { type: 'login', login: 'pmg_p2p_app' } } }, desired)).toEqual([]);
    expect(sqlOf({ kind: 'create-user', user: { name: 'Finance Analysts', purpose: 'principal', source: { type: 'external', kind: 'entra-group' } } })).toEqual([
      `CREATE ROLE "Finance Analysts" WITH NOLOGIN ${ROLE_OPTIONS}`,
      `COMMENT ON ROLE "Finance Analysts" IS 'pmgrants:principal {"kind":"entra-group"} (created by pmgrants; authentication is configured outside it)'`,
    ]);
    expect(sqlOf({ kind: 'create-user', user: { name: 'alice', purpose: 'principal', source: { type: 'sql-login', login: 'alice' } } })[0]).toBe(`CREATE ROLE "alice" WITH LOGIN ${ROLE_OPTIONS}`);
    expect(sqlOf({ kind: 'create-user', user: { name: 'bob@contoso.com', purpose: 'principal', source: { type: 'external', kind: 'entra-user' } } })[0]).toBe(
      `CREATE ROLE "bob@contoso.com" WITH LOGIN ${ROLE_OPTIONS}`,
    );
  });

  it('create-role: a NOLOGIN role and its managed marker', () => {
    expect(sqlOf({ kind: 'create-role', role: { name: 'pmg_p2p_data_consumer', purpose: 'persona', app: 'p2p', persona: 'data_consumer' } })).toEqual([
      `CREATE ROLE "pmg_p2p_data_consumer" WITH NOLOGIN ${ROLE_OPTIONS}`,
      `COMMENT ON ROLE "pmg_p2p_data_consumer" IS 'pmgrants:managed {"purpose":"persona","app":"p2p","persona":"data_consumer","warehouse":"wh"}'`,
    ]);
    expect(sqlOf({ kind: 'create-role', role: { name: 'pmg_p2p_owner', purpose: 'schema-owner', app: 'p2p' } })).toEqual([
      `CREATE ROLE "pmg_p2p_owner" WITH NOLOGIN ${ROLE_OPTIONS}`,
      `COMMENT ON ROLE "pmg_p2p_owner" IS 'pmgrants:managed {"purpose":"schema-owner","app":"p2p","warehouse":"wh"}'`,
      'GRANT "pmg_p2p_owner" TO CURRENT_USER',
    ]);
  });

  it('create-schema and alter-schema-owner', () => {
    expect(sqlOf({ kind: 'create-schema', schema: { name: 'p2p', owner: 'pmg_p2p_owner', app: 'p2p' } })).toEqual(['CREATE SCHEMA IF NOT EXISTS "p2p" AUTHORIZATION "pmg_p2p_owner"']);
    expect(sqlOf({ kind: 'alter-schema-owner', schema: 'p2p', from: 'postgres', to: 'pmg_p2p_owner' })).toEqual(['ALTER SCHEMA "p2p" OWNER TO "pmg_p2p_owner"']);
  });

  it('add-member, with and without ADMIN OPTION', () => {
    expect(sqlOf({ kind: 'add-member', membership: { role: 'pmg_p2p_data_consumer', member: 'alice' } })).toEqual(['GRANT "pmg_p2p_data_consumer" TO "alice"']);
    expect(sqlOf({ kind: 'add-member', membership: { role: 'pmg_p2p_data_consumer', member: 'pmg_app_admin', admin: true } })).toEqual([
      'GRANT "pmg_p2p_data_consumer" TO "pmg_app_admin" WITH ADMIN OPTION',
    ]);
  });

  it('drop-member: names travel as literals into set_config; the DO body revokes every grantor\'s grant', () => {
    const [s] = renderChange({ kind: 'drop-member', membership: { role: 'pmg_p2p_data_consumer', member: 'alice' } }, desired);
    expect(s.display).toBe(`REVOKE "pmg_p2p_data_consumer" FROM "alice" -- every grantor's grant`);
    expect(s.sql.split('\n')[0]).toBe("SELECT set_config('pmgrants.role', 'pmg_p2p_data_consumer', true), set_config('pmgrants.member', 'alice', true);");
    expect(s.sql).toContain("EXECUTE format('REVOKE %I FROM %I GRANTED BY %I', r, m, g);");
    expect(s.sql).toContain("EXECUTE format('REVOKE %I FROM %I', r, m);");
  });

  it('grant and revoke on schemas, the database, all objects of a kind, and default privileges', () => {
    const cases: [Change, string][] = [
      [{ kind: 'grant', permission: perm('pmg_p2p_app', { type: 'schema', name: 'p2p' }, 'USAGE') }, 'GRANT USAGE ON SCHEMA "p2p" TO "pmg_p2p_app"'],
      [{ kind: 'grant', permission: perm('pmg_p2p_app', { type: 'schema', name: 'p2p' }, 'CREATE') }, 'GRANT CREATE ON SCHEMA "p2p" TO "pmg_p2p_app"'],
      [{ kind: 'grant', permission: perm('pmg_p2p_app', { type: 'database' }, 'CONNECT') }, 'GRANT CONNECT ON DATABASE "wh" TO "pmg_p2p_app"'],
      [{ kind: 'grant', permission: perm('r', { type: 'engine', kind: 'tables', name: 'p2p' }, 'SELECT') }, 'GRANT SELECT ON ALL TABLES IN SCHEMA "p2p" TO "r"'],
      [{ kind: 'grant', permission: perm('r', { type: 'engine', kind: 'sequences', name: 'p2p' }, 'USAGE') }, 'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "p2p" TO "r"'],
      [{ kind: 'grant', permission: perm('r', { type: 'engine', kind: 'functions', name: 'p2p' }, 'EXECUTE') }, 'GRANT EXECUTE ON ALL ROUTINES IN SCHEMA "p2p" TO "r"'],
      [
        { kind: 'grant', permission: { ...perm('r', { type: 'engine', kind: 'tables', name: 'p2p' }, 'SELECT'), withGrantOption: true } },
        'GRANT SELECT ON ALL TABLES IN SCHEMA "p2p" TO "r" WITH GRANT OPTION',
      ],
      [
        { kind: 'grant', permission: perm('r', { type: 'engine', kind: 'default-tables', name: 'p2p', forRole: 'pmg_p2p_owner' }, 'SELECT') },
        'ALTER DEFAULT PRIVILEGES FOR ROLE "pmg_p2p_owner" IN SCHEMA "p2p" GRANT SELECT ON TABLES TO "r"',
      ],
      [
        { kind: 'grant', permission: perm('r', { type: 'engine', kind: 'default-sequences', name: 'p2p', forRole: 'pmg_p2p_app' }, 'USAGE') },
        'ALTER DEFAULT PRIVILEGES FOR ROLE "pmg_p2p_app" IN SCHEMA "p2p" GRANT USAGE ON SEQUENCES TO "r"',
      ],
      [{ kind: 'revoke', permission: perm('r', { type: 'schema', name: 'o2c' }, 'USAGE') }, 'REVOKE USAGE ON SCHEMA "o2c" FROM "r"'],
      [{ kind: 'revoke', permission: perm('r', { type: 'database' }, 'TEMPORARY') }, 'REVOKE TEMPORARY ON DATABASE "wh" FROM "r"'],
      [{ kind: 'revoke', permission: perm('r', { type: 'engine', kind: 'tables', name: 'o2c' }, 'SELECT') }, 'REVOKE SELECT ON ALL TABLES IN SCHEMA "o2c" FROM "r"'],
      [{ kind: 'revoke', permission: perm('r', { type: 'engine', kind: 'some-tables', name: 'o2c' }, 'TRUNCATE') }, 'REVOKE TRUNCATE ON ALL TABLES IN SCHEMA "o2c" FROM "r"'],
      [{ kind: 'revoke', permission: perm('r', { type: 'engine', kind: 'some-functions', name: 'o2c' }, 'EXECUTE') }, 'REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA "o2c" FROM "r"'],
      [
        { kind: 'revoke', permission: perm('r', { type: 'engine', kind: 'default-functions', name: 'p2p', forRole: 'pmg_p2p_owner' }, 'EXECUTE') },
        'ALTER DEFAULT PRIVILEGES FOR ROLE "pmg_p2p_owner" IN SCHEMA "p2p" REVOKE EXECUTE ON FUNCTIONS FROM "r"',
      ],
      [
        { kind: 'revoke', permission: perm('r', { type: 'engine', kind: 'default-types', name: 'p2p', forRole: 'x' }, 'USAGE') },
        'ALTER DEFAULT PRIVILEGES FOR ROLE "x" IN SCHEMA "p2p" REVOKE USAGE ON TYPES FROM "r"',
      ],
    ];
    for (const [change, sql] of cases) {
      const out = renderChange(change, desired);
      expect(out).toEqual([{ sql, params: [], display: sql, target: 'warehouse' }]);
    }
  });

  it('drop-role, drop-user and drop-login: one guarded DROP ROLE IF EXISTS each, so whichever runs first drops the role', () => {
    for (const change of [
      { kind: 'drop-role', role: 'pmg_old' },
      { kind: 'drop-user', user: 'pmg_old' },
      { kind: 'drop-login', login: 'pmg_old' },
    ] as Change[]) {
      const [s, ...rest] = renderChange(change, desired);
      expect(rest).toEqual([]);
      expect(s.display).toBe('DROP ROLE IF EXISTS "pmg_old" -- refused if it still owns objects or has open sessions');
      const lines = s.sql.split('\n');
      expect(lines[0]).toBe("SELECT set_config('pmgrants.drop_role', 'pmg_old', true);");
      expect(lines[lines.length - 1]).toBe('DROP ROLE IF EXISTS "pmg_old"');
      expect(s.sql).toContain("RAISE EXCEPTION USING ERRCODE = '2BP01'");
      expect(s.sql).not.toMatch(/DROP OWNED|REASSIGN OWNED/);
    }
  });

  it('a drop with an heir reassigns what the role owns to it, then drops the role\'s privileges, then the role; names only as literals', () => {
    for (const change of [
      { kind: 'drop-role', role: 'pmg_o\'ld', handTo: 'pmg_x_owner' },
      { kind: 'drop-user', user: 'pmg_o\'ld', handTo: 'pmg_x_owner' },
      { kind: 'drop-login', login: 'pmg_o\'ld', handTo: 'pmg_x_owner' },
    ] as Change[]) {
      const [s, ...rest] = renderChange(change, desired);
      expect(rest).toEqual([]);
      expect(s.display).toBe('REASSIGN OWNED BY "pmg_o\'ld" TO "pmg_x_owner"; DROP OWNED BY "pmg_o\'ld"; DROP ROLE IF EXISTS "pmg_o\'ld" -- refused if it has open sessions');
      const lines = s.sql.split('\n');
      expect(lines[0]).toBe("SELECT set_config('pmgrants.drop_role', 'pmg_o''ld', true), set_config('pmgrants.hand_to', 'pmg_x_owner', true);");
      expect(lines[lines.length - 1]).toBe('DROP ROLE IF EXISTS "pmg_o\'ld"');
      // The DO body is constant text: the names reach it through the settings.
      const body = s.sql.slice(s.sql.indexOf('DO $pmgrants$'), s.sql.lastIndexOf('$pmgrants$'));
      expect(body).not.toContain('pmg_');
      expect(body.indexOf("EXECUTE format('REASSIGN OWNED BY %I TO %I', target, heir)")).toBeLessThan(body.indexOf("EXECUTE format('DROP OWNED BY %I', target)"));
      expect(body.indexOf("ERRCODE = '55006'")).toBeLessThan(body.indexOf('REASSIGN OWNED'));
    }
  });

  it('renders every change kind (the switch is exhaustive) through the dialect, in order', () => {
    const one: Record<Exclude<Change['kind'], 'mask-columns'>, Change> = {
      'create-login': { kind: 'create-login', login: { name: 'l', purpose: 'app-login', password: 'generated' } },
      'rotate-password': { kind: 'rotate-password', login: 'l', reason: 'age' },
      'create-user': { kind: 'create-user', user: { name: 'u', purpose: 'principal', source: { type: 'windows', kind: 'windows-group' } } },
      'create-role': { kind: 'create-role', role: { name: 'r', purpose: 'persona' } },
      'create-schema': { kind: 'create-schema', schema: { name: 's', owner: 'o', app: 'a' } },
      'alter-schema-owner': { kind: 'alter-schema-owner', schema: 's', from: 'x', to: 'o' },
      revoke: { kind: 'revoke', permission: perm('r', { type: 'schema', name: 's' }, 'USAGE') },
      'drop-member': { kind: 'drop-member', membership: { role: 'r', member: 'm' } },
      grant: { kind: 'grant', permission: perm('r', { type: 'schema', name: 's' }, 'USAGE') },
      'add-member': { kind: 'add-member', membership: { role: 'r', member: 'm' } },
      'drop-role': { kind: 'drop-role', role: 'r' },
      'drop-user': { kind: 'drop-user', user: 'u' },
      'drop-login': { kind: 'drop-login', login: 'l' },
      'create-masking-key': { kind: 'create-masking-key', schema: 'k', owner: 'o' },
      'create-masked-view': { kind: 'create-masked-view', view: maskedView },
      'replace-masked-view': { kind: 'replace-masked-view', view: maskedView },
      'drop-masked-view': { kind: 'drop-masked-view', schema: 's_masked', name: 't', app: 'a' },
    };
    // Dynamic Data Masking is SQL Server's: the diff never plans column masks for PostgreSQL, and render refuses one.
    expect(() => renderChange({ kind: 'mask-columns', app: 'a', schema: 's', table: 't', newTable: true, columns: [{ name: 'c', function: 'default()' }] }, desired)).toThrow(/PostgreSQL masks personal columns through views/);
    const changes = CHANGE_ORDER.filter((k) => k !== 'mask-columns').map((k) => one[k as Exclude<Change['kind'], 'mask-columns'>]);
    const statements = postgresDialect.render(changes, desired);
    expect(statements.map((s) => s.sql)).toEqual(changes.flatMap((c) => renderChange(c, desired).map((s) => s.sql)));
    expect(statements.length).toBe(16 + 4 + 5 + 5 + 1);
    expect(statements.every((s) => s.target === 'warehouse' && s.display.length > 0)).toBe(true);
  });

  it('refuses what PostgreSQL cannot express or what was never realized, with a clear message', () => {
    expect(() => renderChange({ kind: 'grant', permission: { ...perm('r', { type: 'schema', name: 's' }, 'SELECT'), effect: 'DENY' } }, desired)).toThrow(PmgrantsError);
    expect(() => renderChange({ kind: 'grant', permission: perm('r', { type: 'schema', name: 's' }, 'select') }, desired)).toThrow(/realize/);
    expect(() => renderChange({ kind: 'grant', permission: perm('r', { type: 'role', name: 'x' }, 'manage-membership') }, desired)).toThrow(/realize/);
    expect(() => renderChange({ kind: 'grant', permission: perm('r', { type: 'engine', kind: 'some-tables', name: 's' }, 'SELECT') }, desired)).toThrow(/never granted/);
    expect(() => renderChange({ kind: 'grant', permission: perm('r', { type: 'engine', kind: 'default-tables', name: 's' }, 'SELECT') }, desired)).toThrow(/need a role/);
    expect(() => renderChange({ kind: 'create-role', role: { name: 'x'.repeat(64), purpose: 'persona' } }, desired)).toThrow(/64 bytes/);
  });
});

/** Read one double-quoted identifier the way PostgreSQL's lexer does; returns the name and what follows. */
function lexQuotedIdentifier(text: string): { name: string; rest: string } {
  if (text[0] !== '"') throw new Error('not a quoted identifier');
  let name = '';
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '"') {
      if (text[i + 1] === '"') {
        name += '"';
        i++;
      } else return { name, rest: text.slice(i + 1) };
    } else name += text[i];
  }
  throw new Error('unterminated quoted identifier');
}

/** Read one string literal ('...' or E'...') as PostgreSQL does with standard_conforming_strings on. */
function lexLiteral(text: string): { value: string; rest: string } {
  const escaped = text.startsWith("E'");
  let i = escaped ? 2 : 1;
  if (!escaped && text[0] !== "'") throw new Error('not a literal');
  let value = '';
  for (; i < text.length; i++) {
    const ch = text[i];
    if (escaped && ch === '\\') {
      value += text[++i];
    } else if (ch === "'") {
      if (text[i + 1] === "'") {
        value += "'";
        i++;
      } else return { value, rest: text.slice(i + 1) };
    } else value += ch;
  }
  throw new Error('unterminated literal');
}

const identifier = fc.string({ unit: 'binary', minLength: 1, maxLength: 63 }).filter((s) => !s.includes('\u0000') && Buffer.byteLength(s) <= 63);

describe('quoting can never be escaped', () => {
  it('quoteIdent: the lexer reads back exactly the input and the identifier ends where the quoting ends', () => {
    fc.assert(
            // What follows a quoted identifier in rendered SQL is a space, ';', '.' or the end, never a quote.
      fc.property(identifier, fc.constantFrom('', ' ; DROP ROLE postgres; --', ' "x"', ".'y'"), (name, suffix) => {
        const { name: read, rest } = lexQuotedIdentifier(quoteIdent(name) + suffix);
        expect(read).toBe(name);
        expect(rest).toBe(suffix);
      }),
      { numRuns: 2000 },
    );
  });

  it('quoteLiteral: the lexer reads back exactly the input whatever quotes and backslashes it holds', () => {
    const text = fc.string({ unit: fc.constantFrom("'", '\\', '"', ';', 'a', 'é', '$', '\n'), maxLength: 30 });
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ unit: 'binary' }).filter((s) => !s.includes('\u0000'))), (value) => {
        const { value: read, rest } = lexLiteral(quoteLiteral(value) + '; x');
        expect(read).toBe(value);
        expect(rest).toBe('; x');
      }),
      { numRuns: 2000 },
    );
  });

  it('a hostile name changes only the quoted spots of a statement, never its structure', () => {
    const withName = (name: string): Change[] => [
      { kind: 'drop-role', role: name },
      { kind: 'drop-member', membership: { role: name, member: name } },
      { kind: 'create-role', role: { name, purpose: 'persona' } },
      { kind: 'grant', permission: perm(name, { type: 'engine', kind: 'default-tables', name, forRole: name }, 'SELECT') },
      { kind: 'rotate-password', login: name, reason: 'forced' },
    ];
    const reference = postgresDialect.render(withName('SAFE'), desired).map((s) => s.sql);
    fc.assert(
      fc.property(identifier, (name) => {
        const hostile = postgresDialect.render(withName(name), desired).map((s) => s.sql);
        // One pass over the reference: every spot where the name went is a quoted identifier or a literal.
        const expected = reference.map((sql) => sql.replace(/"SAFE"|'SAFE'/g, (m) => (m[0] === '"' ? quoteIdent(name) : quoteLiteral(name))));
        expect(hostile).toEqual(expected);
      }),
      { numRuns: 500 },
    );
    // The DO bodies are constant text: the name reaches them only through set_config.
    expect(reference.filter((s) => s.includes('$pmgrants$')).every((s) => !s.split('$pmgrants$')[1].includes('SAFE'))).toBe(true);
  });

  it('rejects what cannot be an identifier: empty, NUL, longer than 63 bytes', () => {
    expect(() => quoteIdent('')).toThrow(/empty/);
    expect(() => quoteIdent('a\u0000b')).toThrow(/NUL/);
    expect(() => quoteIdent('é'.repeat(32))).toThrow(/64 bytes/);
    expect(quoteIdent('é'.repeat(31) + 'x')).toBe(`"${'é'.repeat(31)}x"`);
    expect(() => quoteLiteral('a\u0000')).toThrow(/NUL/);
  });
});
