/**
 * An apply that committed part of its work (Azure SQL creates logins in master before the warehouse
 * transaction) and then failed: the CLI keeps the passwords of the logins it created, says where, in
 * one sentence, and prints none of them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { EngineConnection } from '../../provider/engines/engine';
import { postgresDialect } from '../../provider/engines/postgres';
import { PartialApplyError } from '../../provider/model/errors';
import { emptyState } from '../../provider/model/state';

const PASSWORD = 'Zq9!partial-apply-secret-value';
const OTHER = 'Zq9!never-set-secret-value';

vi.mock('../../provider/engines/registry', async (original) => ({
  ...(await original<typeof import('../../provider/engines/registry')>()),
  connectEngine: async (): Promise<EngineConnection> => ({
    dialect: postgresDialect,
    inspect: async (desired) => ({ ...emptyState(desired.engine, desired.database), managed: [] }),
    lockForApply: async () => async () => undefined,
    apply: async (_statements, _progress, options) => {
      // As the engines do: every generated password is delivered before the first round trip.
      await options?.deliver?.([
        { login: 'pmg_claims-open_app', password: PASSWORD, generation: 'gen-claims' },
        { login: 'pmg_payroll-closed_app', password: OTHER, generation: 'gen-payroll' },
      ]);
      throw new PartialApplyError('the warehouse part failed: permission denied; logins pmg_claims-open_app were created in master.', new Map([['pmg_claims-open_app', PASSWORD]]));
    },
    preflight: async () => [],
    roundTrips: () => 0,
    close: async () => undefined,
  }),
}));

describe('apply that fails after committing some logins', () => {
  it('writes the created logins\' passwords to the secrets file and says so in one sentence', async () => {
    const { runCli } = await import('../../provider/cli/main');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-partial-'));
    const secretsFile = path.join(dir, 'credentials.json');
    let out = '';
    let err = '';
    const code = await runCli(['apply', path.join(__dirname, '..', '..', 'examples', 'ibm-custom-apps.yaml'), '--yes', '--database-url', 'postgres://x@localhost/ibm_process_apps', '--secrets-file', secretsFile], {
      out: (t) => (out += t),
      err: (t) => (err += t),
      env: {},
      interactive: false,
      confirm: async () => false,
      cwd: dir,
    });
    expect(code).toBe(2);
    expect(err.trim().split('\n').filter((l) => l.startsWith('pmgrants: '))).toEqual([
      `pmgrants: the warehouse part failed: permission denied; logins pmg_claims-open_app were created in master; the passwords of the 1 login already set are in ${secretsFile}`,
    ]);
    const logins = JSON.parse(fs.readFileSync(secretsFile, 'utf8')).logins;
    // The login the server took a password for has it as its delivered password; the other keeps it pending.
    expect(logins['pmg_claims-open_app']).toMatchObject({ password: PASSWORD, generation: 'gen-claims' });
    expect(logins['pmg_claims-open_app'].pending).toBeUndefined();
    expect(logins['pmg_payroll-closed_app']).toMatchObject({ pending: { password: OTHER, generation: 'gen-payroll' } });
    expect(logins['pmg_payroll-closed_app'].password).toBeUndefined();
    expect(fs.statSync(secretsFile).mode & 0o777).toBe(0o600);
    expect(out + err).not.toContain(PASSWORD);
    expect(out + err).not.toContain(OTHER);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
