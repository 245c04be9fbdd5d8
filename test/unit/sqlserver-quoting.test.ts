import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PmgrantsError } from '../../provider/model/errors';
import { Statement } from '../../provider/model/statement';
import {
  azureSqlDialect,
  createSqlServerDialect,
  generateSqlServerPassword,
  quoteName,
  quoteString,
  renderChanges,
  sqlServerDialect,
} from '../../provider/engines/sqlserver';
import { Change } from '../../provider/plan/change';
import { CatalogSimulator, SimulatedSqlError, quotename } from '../fixtures/sqlserver/catalog-simulator';
import { compiled, smallPolicy } from '../fixtures/sqlserver/policies';
import { Token, shape, tokenize } from '../fixtures/sqlserver/tsql-tokenizer';

const PH = 'PLACEHOLDER_Q7';

/** Hostile names: brackets, quotes, statement separators, comment starters, unicode, up to 128 code units. */
const fragment = fc.oneof(
  fc.constantFrom(']', ']]', '[', "'", "''", '"', ';', '--', '/*', '*/', '\\', "N'", '@sql', ' ', '\n', '\t', '\r', 'GO', 'é', '😀', '\u202e', '\u2028', 'ß', '%', '::'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }),
);
const hostileName = fc
  .array(fragment, { minLength: 1, maxLength: 40 })
  .map((parts) => parts.join('').replace(/\u0000/g, ''))
  .filter((s) => s.length >= 1 && s.length <= 128);

/** Every slot a name can take, as a change template. */
const templates: Record<string, (n: string) => Change> = {
  'create-login': (n) => ({ kind: 'create-login', login: { name: n, purpose: 'app-login', password: 'generated' } }),
  'rotate-password': (n) => ({ kind: 'rotate-password', login: n, reason: 'forced' }),
  'drop-login': (n) => ({ kind: 'drop-login', login: n }),
  'create-user/login': (n) => ({ kind: 'create-user', user: { name: n, purpose: 'app-login', source: { type: 'login', login: n } } }),
  'create-user/external': (n) => ({ kind: 'create-user', user: { name: n, purpose: 'principal', source: { type: 'external', kind: 'entra-group', objectId: '0a0b0c0d-1111-4222-8333-944455556666' } } }),
  'drop-user': (n) => ({ kind: 'drop-user', user: n }),
  'create-role': (n) => ({ kind: 'create-role', role: { name: n, purpose: 'persona' } }),
  'drop-role': (n) => ({ kind: 'drop-role', role: n }),
  'create-schema/name': (n) => ({ kind: 'create-schema', schema: { name: n, owner: 'o', app: 'a' } }),
  'create-schema/owner': (n) => ({ kind: 'create-schema', schema: { name: 's', owner: n, app: 'a' } }),
  'alter-schema-owner': (n) => ({ kind: 'alter-schema-owner', schema: n, from: 'dbo', to: n }),
  'add-member': (n) => ({ kind: 'add-member', membership: { role: n, member: n } }),
  'drop-member': (n) => ({ kind: 'drop-member', membership: { role: n, member: n } }),
  'grant/schema': (n) => ({ kind: 'grant', permission: { grantee: n, on: { type: 'schema', name: n }, privilege: 'SELECT', effect: 'GRANT', withGrantOption: true } }),
  'grant/database': (n) => ({ kind: 'grant', permission: { grantee: n, on: { type: 'database' }, privilege: 'CREATE VIEW', effect: 'GRANT', withGrantOption: false } }),
  'deny/role': (n) => ({ kind: 'grant', permission: { grantee: n, on: { type: 'role', name: n }, privilege: 'ALTER', effect: 'DENY', withGrantOption: false } }),
  'revoke/schema': (n) => ({ kind: 'revoke', permission: { grantee: n, on: { type: 'schema', name: n }, privilege: 'UPDATE', effect: 'GRANT', withGrantOption: true } }),
};

/** A generated login's SID is derived from its name (sid.ts): the one part of a statement that differs by design. */
const withoutSid = (sql: string) => sql.replace(/SID = 0x[0-9A-F]{32,64}/g, 'SID = 0xSID');

const payloads = (tokens: Token[]) => tokens.filter((t) => t.type === 'ident' || t.type === 'string').map((t) => t.value);

function check(statements: Statement[], reference: Statement[], name: string) {
  expect(statements.length).toBe(reference.length);
  statements.forEach((s, i) => {
    for (const field of ['sql', 'display'] as const) {
      const tokens = tokenize(withoutSid(s[field])); // throws on an unterminated quote: a name that escaped
      expect(tokens.filter((t) => t.type === 'comment')).toEqual([]);
      const ref = tokenize(withoutSid(reference[i][field]));
      // Same statement structure whatever the name: the name only ever fills an identifier or string slot.
      expect(shape(tokens)).toEqual(shape(ref));
      const expected = payloads(ref).map((v) => v.split(PH).join(v.startsWith('pmgrants: login') ? name.replace(/%/g, '%%') : name));
      expect(payloads(tokens)).toEqual(expected);
    }
    // Parameters carry names as values, verbatim.
    expect(s.params.map((p) => ('value' in p ? p.value : `<${p.secretFor}>`))).toEqual(
      reference[i].params.map((p) => ('value' in p ? p.value.split(PH).join(name) : `<${p.secretFor.split(PH).join(name)}>`)),
    );
  });
}

describe('SQL Server quoting: hostile identifiers can never escape their quotes', () => {
  for (const [engine, dialect] of [
    ['sqlserver', sqlServerDialect],
    ['azure-sql', azureSqlDialect],
  ] as const) {
    const desired = dialect.realize(compiled(smallPolicy(engine)));
    for (const [label, template] of Object.entries(templates)) {
      it(`${engine}: ${label}`, () => {
        const reference = dialect.render([template(PH)], desired);
        fc.assert(
          fc.property(hostileName, (name) => {
            check(dialect.render([template(name)], desired), reference, name);
          }),
          { numRuns: 150 },
        );
      });
    }
  }

  it('sqlserver: Windows principals keep DOMAIN\\name inside one identifier', () => {
    const desired = sqlServerDialect.realize(compiled(smallPolicy('sqlserver')));
    const t = (n: string): Change => ({ kind: 'create-user', user: { name: `D\\${n}`, purpose: 'principal', source: { type: 'windows', kind: 'windows-group' } } });
    const reference = sqlServerDialect.render([t(PH)], desired);
    fc.assert(
      fc.property(
        hostileName.filter((n) => n.length <= 126),
        (name) => check(sqlServerDialect.render([t(name)], desired), reference, name),
      ),
      { numRuns: 150 },
    );
  });

  it('dynamic SQL: the server-side QUOTENAME of bound parameters rebuilds exactly the name and password', () => {
    fc.assert(
      fc.property(hostileName, (name) => {
        for (const engine of ['sqlserver', 'azure-sql'] as const) {
          const dialect = engine === 'sqlserver' ? sqlServerDialect : azureSqlDialect;
          const desired = dialect.realize(compiled(smallPolicy(engine)));
          const sim = new CatalogSimulator(engine);
          const password = generateSqlServerPassword(name.slice(0, 10) || 'x');
          sim.apply(dialect.render([templates['create-login'](name)], desired), new Map([[name, password]]));
          expect(sim.logins.map((l) => l.name)).toEqual([name]);
          expect(sim.passwords.get(name)).toBe(password);
        }
        const contained = createSqlServerDialect({ engine: 'azure-sql', generatedLogins: 'contained' });
        const sim = new CatalogSimulator('azure-sql');
        sim.apply(contained.render([templates['create-login'](name)], contained.realize(compiled(smallPolicy('azure-sql')))), new Map([[name, 'Pw-1aA' + 'x'.repeat(30)]]));
        expect(sim.principals.filter((p) => p.name === name).map((p) => p.type)).toEqual(['S']);
      }),
      { numRuns: 100 },
    );
  });
});

describe('SQL Server quoting: the 128-character limit', () => {
  const desired = sqlServerDialect.realize(compiled(smallPolicy('sqlserver')));
  it('renders 128 UTF-16 code units and refuses 129 for every slot', () => {
    const ok = 'a'.repeat(127) + ']';
    const tooLong = 'a'.repeat(129);
    for (const template of Object.values(templates)) {
      expect(() => sqlServerDialect.render([template(ok)], desired)).not.toThrow();
      expect(() => sqlServerDialect.render([template(tooLong)], desired)).toThrow(PmgrantsError);
      expect(() => azureSqlDialect.render([template(tooLong)], desired)).toThrow(PmgrantsError);
    }
  });

  it('counts UTF-16 code units like sysname: 64 emoji are 128 units, 65 are refused', () => {
    expect(quoteName('😀'.repeat(64))).toBe(`[${'😀'.repeat(64)}]`);
    expect(() => quoteName('😀'.repeat(65))).toThrow(/UTF-16 code units/);
  });

  it('quoteName equals the documented QUOTENAME for every name QUOTENAME accepts, and refuses where QUOTENAME returns NULL', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 140 }).filter((s) => s.length > 0 && !s.includes('\u0000')), (name) => {
        const server = quotename(name, '[');
        if (server === null) expect(() => quoteName(name)).toThrow(PmgrantsError);
        else expect(quoteName(name)).toBe(server);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses empty names and NUL characters', () => {
    expect(() => quoteName('')).toThrow(PmgrantsError);
    expect(() => quoteName('a\u0000b')).toThrow(PmgrantsError);
    expect(() => quoteString('a\u0000b')).toThrow(PmgrantsError);
  });

  it('the server-side guard THROWs when a bound value is longer than QUOTENAME accepts', () => {
    const [statement] = renderChanges([templates['create-login']('pmg_x_app')], { options: sqlServerDialect.options, desired });
    const tampered: Statement = { ...statement, params: statement.params.map((p) => ('value' in p && p.name === 'login' ? { ...p, value: 'b'.repeat(129) } : p)) };
    const sim = new CatalogSimulator('sqlserver');
    let thrown: unknown;
    try {
      sim.apply([tampered], new Map([['pmg_x_app', generateSqlServerPassword('pmg_x_app')]]));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SimulatedSqlError);
    expect((thrown as SimulatedSqlError).number).toBe(50001);
    expect(sim.logins).toEqual([]);
  });
});
