/**
 * Personal data (model/masking.ts): patterns, compile (masked and hidden personas read companion
 * schemas, never the app schema), the plan against live relations (plan/masking.ts), PostgreSQL's
 * views and key (engines/postgres/masking.ts), and the rules with their positions.
 */
import { describe, expect, it } from 'vitest';
import { Diagnostic } from '../../provider/diagnostics/diagnostic';
import { checkPolicy } from '../../provider/policy/check';
import { parseSource } from '../../provider/policy/source';
import { compilePolicy } from '../../provider/model/compile';
import { columnMask, globMatches, LiveRelation, maskedViewComment, personalColumnRules } from '../../provider/model/masking';
import { ActualState, DesiredState, Policy } from '../../provider/model/types';
import { emptyState } from '../../provider/model/state';
import { diffMasking } from '../../provider/plan/masking';
import { diffState } from '../../provider/plan/diff';
import { Change } from '../../provider/plan/change';
import { describeChange } from '../../provider/plan/describe';
import { postgresDialect } from '../../provider/engines/postgres';
import { maskExpression, renderMaskedView, renderMaskingKey } from '../../provider/engines/postgres/masking';
import { inspectParams } from '../../provider/engines/postgres/inspect';
import { preflightChecks } from '../../provider/engines/postgres/preflight';
import { claimOf, sliceActual, sliceDesired } from '../../provider/plan/slice';
import { desiredFromInputs, partInputs } from '../../provider/pulumi/wire';

const policy: Policy = {
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database: 'wh' },
  security: { mode: 'system_managed' },
  principals: { analysts: { kind: 'database-role' }, owners: { kind: 'database-role' }, auditors: { kind: 'database-role' } },
  personas: { auditor: { scope: 'app', rights: ['select'], personalData: 'hidden' } },
  apps: {
    p2p: { schema: 'p2p', source: 'closed', personalData: { columns: { '*.user_name': 'pseudonym', 'vendors.contact_*': { mask: 'redact', text: 'n/a' }, 'vendors.phone': { mask: 'partial', first: 2, last: 0 } } } },
    o2c: { schema: 'o2c', source: 'closed' },
  },
  grants: [
    { persona: 'data_consumer', to: ['analysts'], apps: ['*'] },
    { persona: 'process_admin', to: ['owners'], apps: ['p2p'] },
    { persona: 'auditor', to: ['auditors'], apps: ['p2p'] },
    { persona: 'app_admin', to: ['owners'] },
  ],
  options: { prefix: 'pmg_' },
};

const neutral = () => compilePolicy(policy);
const realized = () => postgresDialect.realize(neutral());
const onSchema = (d: DesiredState, grantee: string, schema: string) =>
  d.permissions.filter((p) => p.grantee === grantee && (p.on.type === 'schema' || p.on.type === 'engine') && p.on.name === schema).map((p) => `${p.on.type === 'engine' ? p.on.kind : 'schema'} ${p.privilege}`);

describe('patterns', () => {
  it('globs: * any run of characters, ? one, case and all', () => {
    expect(globMatches('contact_*', 'contact_email')).toBe(true);
    expect(globMatches('contact_*', 'contact_')).toBe(true);
    expect(globMatches('contact_*', 'Contact_email')).toBe(false);
    expect(globMatches('*', '')).toBe(true);
    expect(globMatches('a?c', 'abc')).toBe(true);
    expect(globMatches('a?c', 'ac')).toBe(false);
    expect(globMatches('*_name', 'user_name')).toBe(true);
    expect(globMatches('*_name', 'user_names')).toBe(false);
    expect(globMatches('a*b*c', 'axxbyyc')).toBe(true);
    expect(globMatches('a*b*c', 'axxbyy')).toBe(false);
  });

  it('the first pattern that matches a column decides its mask; a column no pattern matches is not personal', () => {
    const rules = personalColumnRules({ columns: { 'vendors.user_name': 'redact', '*.user_name': 'pseudonym', 'vendors.contact_*': 'nullify' } });
    expect(columnMask(rules, 'vendors', 'user_name')).toEqual({ mask: 'redact', text: '***' });
    expect(columnMask(rules, 'cases', 'user_name')).toEqual({ mask: 'pseudonym' });
    expect(columnMask(rules, 'vendors', 'contact_email')).toEqual({ mask: 'nullify' });
    expect(columnMask(rules, 'cases', 'contact_email')).toBeUndefined();
  });
});

describe('compile', () => {
  it('a masked persona gets nothing on the app schema of an app with personal columns, and select on its companion schema; clear personas keep the app schema', () => {
    const d = neutral();
    expect(onSchema(d, 'pmg_p2p_data_consumer', 'p2p')).toEqual([]);
    expect(onSchema(d, 'pmg_p2p_data_consumer', 'p2p_masked')).toEqual(['schema select']);
    expect(onSchema(d, 'pmg_p2p_auditor', 'p2p')).toEqual([]);
    expect(onSchema(d, 'pmg_p2p_auditor', 'p2p_hidden')).toEqual(['schema select']);
    expect(onSchema(d, 'pmg_p2p_process_admin', 'p2p')).toContain('schema select');
    expect(onSchema(d, 'pmg_app_admin', 'p2p')).toContain('schema select');
    // An app without personal columns is read as before.
    expect(onSchema(d, 'pmg_o2c_data_consumer', 'o2c')).toEqual(['schema select']);
    expect(d.masking).toEqual({
      owner: 'pmg_masker',
      keySchema: 'pmg_masking',
      apps: [
        {
          app: 'p2p',
          schema: 'p2p',
          rules: personalColumnRules(policy.apps.p2p.personalData),
          companions: [
            { visibility: 'hidden', schema: 'p2p_hidden', readers: ['pmg_p2p_auditor'] },
            { visibility: 'masked', schema: 'p2p_masked', readers: ['pmg_p2p_data_consumer'] },
          ],
          clearReaders: ['pmg_app_admin', 'pmg_p2p_process_admin'],
        },
      ],
    });
  });

  it('realized on PostgreSQL: the consumer holds no privilege on p2p or its objects, USAGE and SELECT on p2p_masked (with the masking owner default privileges); the masking owner reads p2p', () => {
    const d = realized();
    expect(onSchema(d, 'pmg_p2p_data_consumer', 'p2p')).toEqual([]);
    expect(onSchema(d, 'pmg_p2p_data_consumer', 'p2p_masked').sort()).toEqual(['default-tables SELECT', 'schema USAGE', 'tables SELECT']);
    expect(d.permissions.find((p) => p.grantee === 'pmg_p2p_data_consumer' && p.on.type === 'engine' && p.on.kind === 'default-tables')?.on).toMatchObject({ forRole: 'pmg_masker' });
    expect(onSchema(d, 'pmg_masker', 'p2p')).toEqual(expect.arrayContaining(['schema USAGE', 'tables SELECT']));
    expect(d.schemas.filter((s) => s.purpose === 'masked-views').map((s) => `${s.name} ${s.owner} ${s.app}`)).toEqual(['p2p_hidden pmg_masker p2p', 'p2p_masked pmg_masker p2p']);
    expect(d.roles.find((r) => r.name === 'pmg_masker')).toEqual({ name: 'pmg_masker', purpose: 'schema-owner' });
    expect(inspectParams(d)[6]).toEqual(['p2p', 'p2p_hidden', 'p2p_masked', 'pmg_masking']);
  });

  it('a policy without personal columns compiles as before: no masking state, no masking owner', () => {
    const plain = compilePolicy({ ...policy, apps: { o2c: policy.apps.o2c }, personas: { auditor: { scope: 'app', rights: ['select'] } } });
    expect(plain.masking).toBeUndefined();
    expect(plain.roles.map((r) => r.name)).not.toContain('pmg_masker');
    expect(inspectParams(postgresDialect.realize(plain))[6]).toEqual([]);
  });
});

const rel = (schema: string, name: string, columns: string[], comment: string | null = null, kind = 'r'): LiveRelation => ({ schema, name, kind, comment, columns });

function actualWith(d: DesiredState, relations: LiveRelation[]): ActualState {
  return { ...emptyState('postgres', 'wh'), managed: [], masking: { relations } };
}

describe('the plan against live relations', () => {
  const d = realized();
  const cases = rel('p2p', 'cases', ['id', 'user_name', 'amount']);
  const vendors = rel('p2p', 'vendors', ['id', 'contact_email', 'phone']);
  const key = rel('pmg_masking', 'pseudonym_key', ['one', 'key']);

  it('a table without its view: one view per companion schema, saying what it masks or hides; the key when it is missing', () => {
    const { changes } = diffMasking(d, actualWith(d, [cases]));
    expect(changes.map((c) => describeChange(c).text)).toEqual([
      'pseudonym key pmg_masking.pseudonym_key (generated by the server, readable only by pmg_masker; never shown)',
      'masked view p2p_hidden.cases (new table p2p.cases: 1 personal column to hide)',
      'masked view p2p_masked.cases (new table p2p.cases: 1 personal column to mask)',
    ]);
    const masked = changes.find((c): c is Extract<Change, { kind: 'create-masked-view' }> => c.kind === 'create-masked-view' && c.view.schema === 'p2p_masked')!;
    expect(masked.view.columns).toEqual([{ name: 'id' }, { name: 'user_name', mask: { mask: 'pseudonym' } }, { name: 'amount' }]);
    expect(masked.view.readers).toEqual(['pmg_p2p_data_consumer']);
    const hidden = changes.find((c): c is Extract<Change, { kind: 'create-masked-view' }> => c.kind === 'create-masked-view' && c.view.schema === 'p2p_hidden')!;
    expect(hidden.view.columns).toEqual([{ name: 'id' }, { name: 'amount' }]);
    expect(hidden.view.hidden).toEqual(['user_name']);
  });

  it('views whose comment matches what the policy wants: nothing to do; a changed table or mask: replaced; a view whose table is gone: dropped; a relation pmgrants did not make: a warning', () => {
    const first = diffMasking(d, actualWith(d, [cases, vendors, key])).changes.filter((c): c is Extract<Change, { kind: 'create-masked-view' }> => c.kind === 'create-masked-view');
    const made = first.map((c) => rel(c.view.schema, c.view.name, c.view.columns.map((x) => x.name), maskedViewComment(c.view), 'v'));
    expect(diffMasking(d, actualWith(d, [cases, vendors, key, ...made]))).toEqual({ changes: [], warnings: [] });
    const grown = rel('p2p', 'cases', ['id', 'user_name', 'amount', 'user_name_2']);
    const stray = rel('p2p_masked', 'notes', ['x'], null, 'v');
    const plan = diffMasking(d, actualWith(d, [grown, key, ...made, stray]));
    expect(plan.changes.map((c) => `${c.kind} ${c.kind === 'drop-masked-view' ? `${c.schema}.${c.name}` : c.kind === 'create-masking-key' ? '' : `${c.view.schema}.${c.view.name}`}`)).toEqual([
      'replace-masked-view p2p_hidden.cases',
      'drop-masked-view p2p_hidden.vendors',
      'replace-masked-view p2p_masked.cases',
      'drop-masked-view p2p_masked.vendors',
    ]);
    expect(plan.warnings).toEqual(['p2p_masked.notes is in a companion schema of masked views but pmgrants did not make it: left as it is (its readers can read it)']);
  });

  it('without the live relations (an offline plan against an empty database): the key only', () => {
    expect(diffMasking(d, { ...emptyState('postgres', 'wh'), managed: [] }).changes.map((c) => c.kind)).toEqual(['create-masking-key']);
  });

  it('a Pulumi part plans its own: the app part its views, the warehouse part the key', () => {
    const actual = actualWith(d, [cases]);
    const app = diffMasking(sliceDesired(d, { scope: 'app', app: 'p2p' }), actual).changes.map((c) => c.kind);
    const warehouse = diffMasking(sliceDesired(d, { scope: 'warehouse' }), actual).changes.map((c) => c.kind);
    const other = diffMasking(sliceDesired(d, { scope: 'app', app: 'o2c' }), actual).changes.map((c) => c.kind);
    expect(app).toEqual(['create-masked-view', 'create-masked-view']);
    expect(warehouse).toEqual(['create-masking-key']);
    expect(other).toEqual([]);
    // The part's slice of the live state keeps what masking read (its diff picks its own schemas).
    const part = sliceDesired(d, { scope: 'app', app: 'p2p' });
    expect(sliceActual(actual, claimOf({ scope: 'app', app: 'p2p' }, [part], actual), part).masking).toEqual(actual.masking);
  });

  it('Pulumi: each part carries its own masking through its inputs (the warehouse the owner and key, an App its own app), and reads it back', () => {
    const neutralState = neutral();
    const warehouse = sliceDesired(neutralState, { scope: 'warehouse' });
    const p2p = sliceDesired(neutralState, { scope: 'app', app: 'p2p' });
    const o2c = sliceDesired(neutralState, { scope: 'app', app: 'o2c' });
    expect(warehouse.masking).toEqual({ owner: 'pmg_masker', keySchema: 'pmg_masking', apps: [] });
    expect(p2p.masking?.apps.map((a) => a.app)).toEqual(['p2p']);
    expect(o2c.masking).toBeUndefined();
    expect(partInputs(o2c, 'postgres', { app: 'o2c' })).not.toHaveProperty('masking');
    expect(desiredFromInputs(partInputs(p2p, 'postgres', { app: 'p2p' })).masking).toEqual(p2p.masking);
    expect(desiredFromInputs(partInputs(warehouse, 'postgres', {})).masking).toEqual(warehouse.masking);
  });

  it('diffState orders the masking changes after the grants: the readers and the masking owner hold their rights before the views are made', () => {
    const plan = diffState(d, actualWith(d, [cases]));
    const kinds = plan.changes.map((c) => c.kind);
    expect(kinds.lastIndexOf('grant')).toBeLessThan(kinds.indexOf('create-masking-key'));
    expect(kinds.indexOf('create-masking-key')).toBeLessThan(kinds.indexOf('create-masked-view'));
    expect(kinds.lastIndexOf('create-schema')).toBeLessThan(kinds.indexOf('create-masked-view'));
  });
});

describe('PostgreSQL statements', () => {
  it('masks: a keyed SHA-256 whose key is read from the key table, never written in the view; redact; partial; nullify keeps the type; NULL stays NULL', () => {
    expect(maskExpression('user_name', { mask: 'pseudonym' }, 'pmg_masking')).toBe(
      `CASE WHEN "user_name" IS NULL THEN NULL ELSE 'u_' OPERATOR(pg_catalog.||) pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to((SELECT k.key FROM "pmg_masking"."pseudonym_key" k) OPERATOR(pg_catalog.||) "user_name"::text, 'UTF8')), 'hex'), 16) END`,
    );
    expect(maskExpression('contact', { mask: 'redact', text: "n/a 'x'" }, 'k')).toBe(`CASE WHEN "contact" IS NULL THEN NULL ELSE 'n/a ''x'''::text END`);
    expect(maskExpression('phone', { mask: 'partial', first: 2, last: 1 }, 'k')).toBe(
      `CASE WHEN "phone" IS NULL THEN NULL WHEN pg_catalog.length("phone"::text) <= 3 THEN pg_catalog.repeat('*', pg_catalog.length("phone"::text)) ELSE pg_catalog.left("phone"::text, 2) OPERATOR(pg_catalog.||) pg_catalog.repeat('*', pg_catalog.length("phone"::text) - 3) OPERATOR(pg_catalog.||) pg_catalog.right("phone"::text, 1) END`,
    );
    expect(maskExpression('born', { mask: 'nullify' }, 'k')).toBe('CASE WHEN false THEN "born" END');
  });

  it('a view: dropped and made again, security_barrier, owned by the masking owner, its fingerprint as comment, granted to its readers', () => {
    const view = {
      app: 'p2p',
      schema: 'p2p_masked',
      name: 'ca"ses',
      visibility: 'masked' as const,
      source: { schema: 'p2p', name: 'ca"ses' },
      columns: [{ name: 'id' }, { name: 'born', mask: { mask: 'nullify' as const } }],
      hidden: [],
      owner: 'pmg_masker',
      readers: ['pmg_p2p_data_consumer', 'pmg_reader'],
      keySchema: 'pmg_masking',
    };
    expect(renderMaskedView(view).map((s) => s.sql)).toEqual([
      'DROP VIEW IF EXISTS "p2p_masked"."ca""ses"',
      'CREATE VIEW "p2p_masked"."ca""ses" WITH (security_barrier) AS SELECT "id", CASE WHEN false THEN "born" END AS "born" FROM "p2p"."ca""ses"',
      'ALTER VIEW "p2p_masked"."ca""ses" OWNER TO "pmg_masker"',
      `COMMENT ON VIEW "p2p_masked"."ca""ses" IS E'pmgrants masked view {"of":["p2p","ca\\\\"ses"],"key":"pmg_masking","columns":[["id"],["born",{"mask":"nullify"}]],"hidden":[]}'`,
      'GRANT SELECT ON "p2p_masked"."ca""ses" TO "pmg_p2p_data_consumer", "pmg_reader"',
    ]);
  });

  it('a table whose every column is hidden: a view with no columns (SELECT FROM t)', () => {
    const view = { app: 'p2p', schema: 'p2p_hidden', name: 'people', visibility: 'hidden' as const, source: { schema: 'p2p', name: 'people' }, columns: [], hidden: ['user_name'], owner: 'o', readers: [], keySchema: 'k' };
    expect(renderMaskedView(view)[1].sql).toBe('CREATE VIEW "p2p_hidden"."people" WITH (security_barrier) AS SELECT FROM "p2p"."people"');
    expect(renderMaskedView(view)).toHaveLength(4); // no readers: no GRANT
  });

  it('the plan names the masked views made again or dropped among the changes that take exclusive locks', () => {
    const view = { app: 'p2p', schema: 'p2p_masked', name: 'cases', visibility: 'masked' as const, source: { schema: 'p2p', name: 'cases' }, columns: [{ name: 'id' }], hidden: [], owner: 'o', readers: [], keySchema: 'k' };
    expect(postgresDialect.locksOf!([{ kind: 'create-masked-view', view }, { kind: 'replace-masked-view', view }, { kind: 'drop-masked-view', schema: 'p2p_masked', name: 'old', app: 'p2p' }])).toEqual([
      'masked view p2p_masked.cases is made again: DROP VIEW takes an exclusive lock (ACCESS EXCLUSIVE) on it, from then to the commit',
      'masked view p2p_masked.old is dropped: DROP VIEW takes an exclusive lock (ACCESS EXCLUSIVE) on it, from then to the commit',
    ]);
  });

  it('the key: generated by the server from its strong random source, kept if there is one, owned by the masking owner; no statement carries a key', () => {
    const statements = renderMaskingKey('pmg_masking', 'pmg_masker');
    expect(statements.map((s) => s.sql)).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "pmg_masking" AUTHORIZATION "pmg_masker"',
      'CREATE TABLE IF NOT EXISTS "pmg_masking"."pseudonym_key" (one boolean PRIMARY KEY DEFAULT true CHECK (one), key text NOT NULL)',
      'ALTER TABLE "pmg_masking"."pseudonym_key" OWNER TO "pmg_masker"',
      `INSERT INTO "pmg_masking"."pseudonym_key" (key) SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.gen_random_uuid()::text OPERATOR(pg_catalog.||) pg_catalog.gen_random_uuid()::text, 'UTF8')), 'hex') WHERE NOT EXISTS (SELECT 1 FROM "pmg_masking"."pseudonym_key")`,
    ]);
    expect(statements.every((s) => s.params.length === 0)).toBe(true);
  });
});

const HEAD = `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: wh }
options: { prefix: pmg_wh_ }
security: { mode: system_managed }
principals:
  analysts: { kind: database-role }
`;
const check = (text: string) =>
  checkPolicy(parseSource('p.yaml', text).source!)
    .diagnostics.filter((d: Diagnostic) => d.code !== 'unused-principal' && d.code !== 'closed-source-unenforced')
    .map((d) => `${d.line}:${d.column} ${d.severity} ${d.code} ${d.message}`);

describe('rules, each at its position', () => {
  it('an unknown mask kind (the schema): one sentence at the value, naming the masks', () => {
    const text = `${HEAD}apps:
  p2p:
    schema: p2p
    personalData:
      columns:
        "*.user_name": hash
grants:
  - { persona: data_consumer, to: [analysts], apps: [p2p] }
`;
    expect(check(text).filter((d) => !d.includes('no-apps'))).toEqual([
      '12:24 error invalid-value apps.p2p.personalData.columns.*.user_name is "hash"; it must be a mask (pseudonym, redact, partial, nullify) or a mapping with one (mask: partial, first: 2, last: 2)',
    ]);
  });

  it('a pattern without a dot, a part no identifier can hold', () => {
    const text = `${HEAD}apps:
  p2p:
    schema: p2p
    personalData:
      columns:
        "*.user_name": pseudonym
        "user_name": pseudonym
        "cases.${'x'.repeat(64)}*": redact
grants:
  - { persona: data_consumer, to: [analysts], apps: [p2p] }
`;
    expect(check(text)).toEqual([
      '13:9 error personal-column-pattern "user_name" is not table.column: it needs a table pattern, a dot and a column pattern, e.g. "*.user_name"',
      `14:9 error personal-column-pattern the column part of "cases.${'x'.repeat(64)}*" needs 64 bytes, more than any identifier can hold (63): it can never match`,
    ]);
  });

  it('a masked persona with rights that reach the tables; a custom persona that does not say; SQL Server', () => {
    const text = `${HEAD}personas:
  editor: { rights: [select, update], personalData: masked }
  reader: { rights: [select] }
apps:
  p2p: { schema: p2p, personalData: { columns: { "*.user_name": pseudonym } } }
grants:
  - { persona: data_consumer, to: [analysts], apps: [p2p] }
  - { persona: editor, to: [analysts], apps: [p2p] }
  - { persona: reader, to: [analysts], apps: [p2p] }
`;
    expect(check(text)).toEqual([
      "8:53 error personal-data-unenforceable persona editor sees personal data masked, but update reaches the app's own tables (writes, ownership or routines read them in clear)",
      '9:3 error personal-data-persona-unset persona reader reads p2p, which has personal columns: say personalData: clear, masked or hidden (until then it reads them masked)',
    ]);
    expect(check(text.replace('engine: postgres', 'engine: sqlserver').replace('  editor: { rights: [select, update], personalData: masked }\n  reader: { rights: [select] }\n', '  editor: { rights: [select, update], personalData: clear }\n  reader: { rights: [select], personalData: clear }\n'))).toEqual([
      expect.stringMatching(/^11:50 warning personal-data-approximated Dynamic Data Masking has no keyed pseudonym: "\*\.user_name" reads as default\(\)/),
    ]);
  });

  it('the requirePersonalData guardrail: every app declares its personal columns or says none', () => {
    const text = `${HEAD}guardrails: { requirePersonalData: true }
apps:
  p2p: { schema: p2p, personalData: { columns: { "*.user_name": pseudonym } } }
  o2c: { schema: o2c, personalData: { none: true } }
  hr: { schema: hr }
grants:
  - { persona: data_consumer, to: [analysts], apps: ["*"] }
`;
    expect(check(text)).toEqual([
      '11:3 error guardrail-personal-data app "hr" declares no personal columns; this stack requires personalData.columns, or personalData.none: true for an app without personal data',
    ]);
  });

  it('a warehouse persona whose role would be the masking owner\'s name', () => {
    const text = `${HEAD}personas:
  masker: { scope: warehouse, rights: [select], personalData: clear }
apps:
  p2p: { schema: p2p, personalData: { columns: { "*.user_name": pseudonym } } }
grants:
  - { persona: data_consumer, to: [analysts], apps: ["*"] }
  - { persona: masker, to: [analysts] }
`;
    expect(check(text)).toEqual([expect.stringMatching(/^8:3 error duplicate-name role "pmg_wh_masker" is also the name of the role that owns the masked views$/)]);
  });

  it('a companion schema that is another app\'s schema, or too long', () => {
    const text = `${HEAD}apps:
  p2p: { schema: p2p, personalData: { columns: { "*.user_name": pseudonym } } }
  other: { schema: p2p_masked }
  long: { schema: ${'l'.repeat(58)}, personalData: { columns: { "*.user_name": pseudonym } } }
grants:
  - { persona: data_consumer, to: [analysts], apps: ["*"] }
`;
    expect(check(text)).toEqual([
      '9:20 error duplicate-schema schema "p2p_masked" is the companion schema of app p2p\'s masked views',
      `10:19 error name-too-long the companion schema "${'l'.repeat(58)}_hidden" of masked views would be longer than 63 bytes`,
      `10:19 error name-too-long the companion schema "${'l'.repeat(58)}_masked" of masked views would be longer than 63 bytes`,
    ]);
  });
});

describe('fail closed under additive enforcement', () => {
  it("what a masked persona's role holds on the app schema, and anyone's privilege on the key schema, is revoked even when enforcement is additive; others' privileges are kept", () => {
    const d = postgresDialect.realize(compilePolicy({ ...policy, options: { prefix: 'pmg_', enforcement: 'additive' } }));
    const held = (grantee: string, on: DesiredState['permissions'][number]['on'], privilege: string) => ({ grantee, on, privilege, effect: 'GRANT' as const, withGrantOption: false });
    const actual: ActualState = {
      ...emptyState('postgres', 'wh'),
      managed: ['pmg_p2p_data_consumer', 'pmg_o2c_data_consumer'],
      permissions: [
        held('pmg_p2p_data_consumer', { type: 'engine', kind: 'tables', name: 'p2p' }, 'SELECT'),
        held('pmg_p2p_data_consumer', { type: 'engine', kind: 'column:["cases","user_name"]', name: 'p2p' }, 'SELECT'),
        held('pmg_o2c_data_consumer', { type: 'engine', kind: 'tables', name: 'o2c' }, 'UPDATE'),
        held('someone', { type: 'engine', kind: 'tables', name: 'p2p' }, 'SELECT'),
        held('', { type: 'engine', kind: 'tables', name: 'pmg_masking' }, 'SELECT'),
      ],
    };
    const revoked = diffState(d, actual).changes.filter((c) => c.kind === 'revoke').map((c) => (c.kind === 'revoke' ? `${c.permission.grantee} ${c.permission.on.type === 'engine' ? c.permission.on.kind : ''} ${c.permission.privilege}` : ''));
    expect(revoked.sort()).toEqual([' tables SELECT', 'pmg_p2p_data_consumer column:["cases","user_name"] SELECT', 'pmg_p2p_data_consumer tables SELECT']);
  });
});

describe('doctor', () => {
  it('a policy with personal columns needs PostgreSQL 13 or later (the key comes from gen_random_uuid); without them no such check', () => {
    const facts = { user: 'prov', database: 'wh', version: '12.20', versionNum: 120020, passwordEncryption: 'scram-sha-256', superuser: true, createRole: true, createInDatabase: true, grantConnect: true, schemas: [] };
    const check = (versionNum: number, d: DesiredState) => preflightChecks({ ...facts, versionNum }, d).find((c) => c.name === 'personal-data');
    expect(check(120020, realized())).toMatchObject({ ok: false, detail: expect.stringMatching(/personal columns need PostgreSQL 13 or later$/) });
    expect(check(130000, realized())).toMatchObject({ ok: true });
    expect(check(120020, postgresDialect.realize(compilePolicy({ ...policy, apps: { o2c: policy.apps.o2c }, personas: { auditor: { scope: 'app', rights: ['select'] } } })))).toBeUndefined();
  });

  it('the masked views one apply makes must fit in the lock table: each relation of a masked schema, once per companion schema, two locks each', () => {
    const facts = { user: 'prov', database: 'wh', version: '15.8', versionNum: 150008, passwordEncryption: 'scram-sha-256', superuser: true, createRole: true, createInDatabase: true, grantConnect: true, schemas: [] };
    // p2p has a masked and a hidden companion: 2 views per relation, 4 locks.
    const lockTable = (relations: number, slots: number) =>
      preflightChecks({ ...facts, lockSlots: slots, maxLocksPerTransaction: 64, maskedRelations: { p2p: relations } }, realized()).find((c) => c.name === 'lock-table');
    expect(lockTable(1000, 6400)).toMatchObject({ ok: true, detail: 'making all 2,000 masked views in one transaction takes about 4,000 locks; the lock table holds 6,400 (max_locks_per_transaction 64 x (max_connections + max_prepared_transactions))' });
    const full = lockTable(2000, 6400)!;
    expect(full).toMatchObject({ ok: false, detail: expect.stringMatching(/^an apply that makes all 4,000 masked views \(the first one\) takes about 8,000 locks in one transaction, and the lock table holds 6,400 .*"out of shared memory"/) });
    // The setting that makes room (a quarter left to other sessions): 64 x 8,000 / 4,800, up to a multiple of 64.
    expect(full.fix).toBe('ALTER SYSTEM SET max_locks_per_transaction = 128; -- then restart the server (the setting is read at start)');
    // Without personal columns, or from a server whose facts lack the sizes, no such check.
    expect(preflightChecks({ ...facts, lockSlots: 6400, maskedRelations: {} }, postgresDialect.realize(compilePolicy({ ...policy, apps: { o2c: policy.apps.o2c }, personas: { auditor: { scope: 'app', rights: ['select'] } } }))).find((c) => c.name === 'lock-table')).toBeUndefined();
    expect(preflightChecks(facts, realized()).find((c) => c.name === 'lock-table')).toBeUndefined();
  });
});
