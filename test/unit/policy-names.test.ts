import { describe, expect, it } from 'vitest';
import { checkPolicy } from '../../provider/policy/check';
import { parseSource } from '../../provider/policy/source';
import { forbiddenNameCharacter } from '../../provider/policy/name-characters';
import { formatDiagnostics } from '../../provider/diagnostics/format';
import { reservedPrincipalReason } from '../../provider/model/names';
import { Diagnostic } from '../../provider/diagnostics/diagnostic';

/** A valid policy with one spot to vary; YAML double-quoted strings carry the escapes. */
function policy(opts: { engine?: string; database?: string; principalKey?: string; principalName?: string; schema?: string; appKey?: string; role?: string; prefix?: string; persona?: string; extra?: string } = {}) {
  const q = (s: string) => JSON.stringify(s); // JSON strings are YAML double-quoted strings
  const pk = opts.principalKey ?? 'team';
  const app = opts.appKey ?? 'p2p';
  return [
    'apiVersion: pmgrants/v1',
    `warehouse: { engine: ${opts.engine ?? 'postgres'}, database: ${q(opts.database ?? 'wh')} }`,
    'security: { mode: system_managed }',
    ...(opts.prefix !== undefined ? [`options: { prefix: ${q(opts.prefix)} }`] : []),
    'principals:',
    `  ${q(pk)}: { kind: database-role${opts.principalName !== undefined ? `, name: ${q(opts.principalName)}` : ''} }`,
    ...(opts.persona !== undefined ? ['personas:', `  ${q(opts.persona)}: { rights: [select] }`] : []),
    'apps:',
    `  ${q(app)}: { schema: ${q(opts.schema ?? 'p2p')}${opts.role !== undefined ? `, roles: { owner: ${q(opts.role)} }` : ''} }`,
    'grants:',
    `  - { persona: data_consumer, to: [${q(pk)}], apps: [${q(app)}] }`,
    ...(opts.extra ? [opts.extra] : []),
    '',
  ].join('\n');
}

function check(text: string): Diagnostic[] {
  const parsed = parseSource('p.yaml', text);
  expect(parsed.diagnostics).toEqual([]);
  return checkPolicy(parsed.source!).diagnostics;
}

const errors = (d: Diagnostic[]) => d.filter((x) => x.severity === 'error');

describe('names refuse control, DEL, C1 and bidi characters (name-character)', () => {
  const bad: [string, string][] = [
    ['NUL', '\u0000'],
    ['ESC', '\u001b[31m'],
    ['LF', '\n+ role forged'],
    ['CR', '\r'],
    ['TAB', '\t'],
    ['DEL', '\u007f'],
    ['C1 CSI', '\u009b'],
    ['RLO', '\u202e'],
    ['LRE', '\u202a'],
    ['RLI', '\u2067'],
    ['PDI', '\u2069'],
    ['LRM', '\u200e'],
    ['RLM', '\u200f'],
    ['line separator', '\u2028'],
    ['lone surrogate', '\ud800'],
  ];
  const places: [string, (s: string) => string, string, number, number][] = [
    ['principal name', (s) => policy({ principalName: `fin${s}ance` }), '/principals/team/name', 5, 40],
    ['principal key', (s) => policy({ principalKey: `te${s}am` }), '/principals/te', 5, 3],
    ['schema', (s) => policy({ schema: `p2${s}p` }), '/apps/p2p/schema', 7, 20],
    ['app key', (s) => policy({ appKey: `p2${s}p` }), '/apps/p2', 7, 3],
    ['database', (s) => policy({ database: `w${s}h` }), '/warehouse/database', 2, 42],
    ['adopted role', (s) => policy({ role: `own${s}er` }), '/apps/p2p/roles/owner', 7, 43],
    ['prefix', (s) => policy({ prefix: `pm${s}_` }), '/options/prefix', 4, 20],
    ['persona name', (s) => policy({ persona: `rea${s}der` }), '/personas/rea', 7, 3],
  ];
  for (const [what, make, pathStart, line, column] of places) {
    it(`${what}: each character is one name-character error at its position`, () => {
      for (const [label, s] of bad) {
        const d = errors(check(make(s)));
        // A key is also named where the grant refers to it: that reference is its own error.
        const hits = d.filter((x) => x.code === 'name-character' && x.path.startsWith(pathStart));
        expect(hits, `${what} ${label}: ${JSON.stringify(d)}`).toHaveLength(1);
        expect(`${hits[0].line}:${hits[0].column}`, `${what} ${label}`).toBe(`${line}:${column}`);
        expect(hits[0].message).toMatch(/holds U\+[0-9A-F]{4} \(.+, written \\.+\) at character \d+; names may not hold/);
        // The key a schema pattern also refuses is reported once, by this rule.
        expect(d.filter((x) => x.path === hits[0].path)).toHaveLength(1);
      }
    });
  }

  it('the message names the character and where it is', () => {
    expect(forbiddenNameCharacter('ab\u202ec')).toBe('U+202E (RIGHT-TO-LEFT OVERRIDE, written \\u202e) at character 3');
    expect(forbiddenNameCharacter('\u0000')).toBe('U+0000 (NUL, written \\x00) at character 1');
    expect(forbiddenNameCharacter('𝄞\u001b')).toBe('U+001B (ESC, written \\x1b) at character 2');
    expect(forbiddenNameCharacter('x\u0085')).toBe('U+0085 (a control character, written \\x85) at character 2');
    expect(forbiddenNameCharacter('café 𝄞 Ünïcödé-名前')).toBeUndefined();
  });

  it('persona, principal and app references in grants are checked too', () => {
    const d = errors(check(policy({ extra: '  - { persona: "data\\u001bconsumer", to: ["te\\nam"], apps: ["p2\\u202ep"] }' })));
    expect(d.filter((x) => x.code === 'name-character').map((x) => x.path)).toEqual(['/grants/1/persona', '/grants/1/to/0', '/grants/1/apps/0']);
  });

  it('a stack overlay: its app list and the names it sets are checked, located in the stack file', () => {
    const base = parseSource('p.yaml', policy()).source!;
    const stack = parseSource('stacks/dev.yaml', 'apiVersion: pmgrants/v1\napps: ["p2\\u202ep"]\noverlay:\n  principals:\n    team: { name: "te\\u0000am" }\n').source!;
    const d = checkPolicy(base, stack).diagnostics.filter((x) => x.code === 'name-character');
    expect(d.map((x) => `${x.file}:${x.line} ${x.path}`)).toEqual(['stacks/dev.yaml:2 /apps/0', 'stacks/dev.yaml:5 /principals/team/name']);
  });

  it('printed, the diagnostic escapes the name: one line, no raw control character', () => {
    const d = check(policy({ principalName: 'a\n\u001b[2J\u202eb' }));
    const text = formatDiagnostics('text', d, new Map([['p.yaml', policy({ principalName: 'a\n\u001b[2J\u202eb' })]]));
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
    expect(text).toContain('principal name "a\\n\\x1b[2J\\u202eb" holds U+000A (LINE FEED, written \\n) at character 2');
    for (const format of ['github', 'text'] as const) {
      const out = formatDiagnostics(format, d, new Map());
      const lines = out.split('\n').filter((l) => l.includes('name-character'));
      expect(lines).toHaveLength(1);
    }
  });

  it('printable names with letters of any script, spaces and punctuation stay valid', () => {
    const d = errors(check(policy({ principalName: 'CONTOSO\\Finance Team (Zürich) 名前', database: 'Automation Suite-Warehouse' })));
    expect(d).toEqual([]);
  });
});

describe('reserved names per engine (reserved-name)', () => {
  const reserved = (engine: string, name: string) =>
    errors(check(policy({ engine, principalName: name }))).filter((x) => x.code === 'reserved-name' && x.path === '/principals/team/name');

  it('PostgreSQL: none, public, current_user, session_user, current_role, pg_*, postgres; case as the server compares', () => {
    for (const name of ['none', 'public', 'current_user', 'session_user', 'current_role', 'pg_monitor', 'pg_anything', 'postgres']) {
      const d = reserved('postgres', name);
      expect(d, name).toHaveLength(1);
      expect(d[0]).toMatchObject({ line: 5, column: 40 });
      expect(d[0].message).toMatch(new RegExp(`^principal name "${name}" is reserved`));
    }
    // PostgreSQL refuses exactly these spellings: "Public", "NONE" and "PG_x" are other, legal roles.
    for (const name of ['Public', 'NONE', 'PG_x', 'nonesuch', 'publicity']) expect(reserved('postgres', name), name).toEqual([]);
    expect(reservedPrincipalReason('postgres', 'none')).toBe('reserved by PostgreSQL (CREATE ROLE refuses "none")');
  });

  it('SQL Server and Azure SQL: built-in principals, ##...##, db_*, fixed server roles; case-insensitive', () => {
    for (const engine of ['sqlserver', 'azure-sql']) {
      for (const name of ['sa', 'SA', 'dbo', 'Guest', 'public', 'sys', 'INFORMATION_SCHEMA', '##MS_LoginManager##', 'db_owner', 'DB_DataReader', 'sysadmin', 'SecurityAdmin', 'dbcreator']) {
        expect(reserved(engine, name), `${engine} ${name}`).toHaveLength(1);
      }
      for (const name of ['sales', 'dbo2', 'guests', 'CONTOSO\\sa']) expect(reserved(engine, name), `${engine} ${name}`).toEqual([]);
    }
    expect(reserved('azure-sql', 'loginmanager')).toHaveLength(1);
    expect(reserved('sqlserver', 'loginmanager')).toEqual([]);
    // Names PostgreSQL reserves are fine on SQL Server, and the other way round.
    expect(reserved('sqlserver', 'none')).toEqual([]);
    expect(reserved('postgres', 'sa')).toEqual([]);
  });

  it('a prefix that makes every generated name reserved is one error at the prefix', () => {
    const pg = errors(check(policy({ prefix: 'pg_' }))).filter((x) => x.code === 'reserved-name');
    expect(pg).toHaveLength(1);
    expect(pg[0]).toMatchObject({ path: '/options/prefix', line: 4 });
    expect(pg[0].message).toBe('prefix "pg_" makes every name pmgrants generates reserved by PostgreSQL (role names starting with "pg_" are)');
    const ss = errors(check(policy({ engine: 'sqlserver', prefix: 'db_' }))).filter((x) => x.code === 'reserved-name');
    expect(ss.map((x) => x.path)).toEqual(['/options/prefix']);
  });

  it('adopted roles that are built-in principals are refused', () => {
    const d = errors(check(policy({ role: 'public' }))).filter((x) => x.code === 'reserved-name');
    expect(d.map((x) => x.path)).toEqual(['/apps/p2p/roles/owner']);
  });
});
