import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliCaptured } from '../support/cli';
import { checkUrlDatabase } from '../../provider/pipeline/database';
import { urlDatabase } from '../../provider/engines/registry';
import { reasonOf } from '../../provider/engines/postgres/errors';
import { applyErrorMessage } from '../../provider/engines/postgres/errors';

const root = path.join(__dirname, '..', '..');
const pgPolicy = path.join(root, 'examples', 'ibm-custom-apps.yaml'); // postgres, database ibm_process_apps

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCliCaptured(args, { env, cwd: root });

describe('database URLs', () => {
  const secret = 'Sup3r-s3cret';
  for (const command of [['plan'], ['apply', '--yes'], ['rotate', '--all', '--yes']]) {
    it(`${command[0]}: a URL naming another database than warehouse.database is refused before connecting (exit 2, one sentence)`, async () => {
      // Port 1: were it to connect, the error would be "connection refused", not this.
      const r = await run([command[0], pgPolicy, ...command.slice(1), '--database-url', `postgres://admin:${secret}@127.0.0.1:1/postgres`]);
      expect(r.code).toBe(2);
      expect(r.err).toBe('pmgrants: the database URL connects to database "postgres", but the policy\'s warehouse is "ibm_process_apps"; point the URL at "ibm_process_apps" or fix warehouse.database\n');
    });
  }

  it('a URL naming no database is refused, from the environment too', async () => {
    const r = await run(['plan', pgPolicy], { PMGRANTS_DATABASE_URL: `postgres://admin:${secret}@127.0.0.1:1` });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^pmgrants: the database URL names no database, but the policy governs "ibm_process_apps" \(warehouse.database\); add it to the URL, e\.g\. postgres:\/\/host:5432\/ibm_process_apps\n$/);
  });

  it('an unparsable URL is one sentence naming the problem, without the password', async () => {
    for (const url of [`postgres://admin:${secret}@[::1/ibm_process_apps`, `admin:${secret}@host/ibm_process_apps`, `not a url ${secret}`]) {
      const r = await run(['plan', pgPolicy, '--database-url', url]);
      expect(r.code, url).toBe(2);
      expect(r.err.split('\n'), url).toHaveLength(2);
      expect(r.err).not.toContain(secret);
      expect(r.err).not.toContain('unexpected error');
      expect(r.err).toMatch(/^pmgrants: (the database URL is not a valid URL|a PostgreSQL connection URL starts with postgres:\/\/ or postgresql:\/\/, not admin:\/\/)/);
    }
    const doctor = await run(['doctor', pgPolicy, '--database-url', `postgres://admin:${secret}@[::1/x`]);
    expect(doctor.code).toBe(2);
    expect(doctor.err).toMatch(/^pmgrants: the database URL is not a valid URL/);
    expect(doctor.err).not.toContain(secret);
  });

  it('PostgreSQL compares the name exactly and decodes it; SQL Server compares case-insensitively', () => {
    expect(urlDatabase('postgres', 'postgresql://u:p@h/my%20db')).toBe('my db');
    expect(() => checkUrlDatabase('postgres', 'postgres://h/Warehouse', 'warehouse')).toThrow(/connects to database "Warehouse", but the policy's warehouse is "warehouse"/);
    expect(() => checkUrlDatabase('postgres', 'postgres://h/warehouse', 'warehouse')).not.toThrow();
    expect(() => checkUrlDatabase('sqlserver', 'mssql://sa:pw@host:1433/automationsuite_processmining_warehouse', 'AutomationSuite_ProcessMining_Warehouse')).not.toThrow();
    expect(() => checkUrlDatabase('azure-sql', 'mssql://u:pw@x.database.windows.net/other', 'wh')).toThrow('the database URL connects to database "other", but the policy\'s warehouse is "wh"');
    expect(() => checkUrlDatabase('sqlserver', 'mssql://sa:pw@host', 'wh')).toThrow(/names no database.*mssql:\/\/host:1433\/wh/);
    expect(() => urlDatabase('postgres', 'postgres://h/%E0%A4%A')).toThrow('the database name in the database URL has a malformed percent-encoding');
  });
});

describe('a lost connection inside a larger sentence', () => {
  it('is said as such, not with the sentence of a whole apply', () => {
    const lost = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const whole = applyErrorMessage(lost);
    expect(whole).toBe('the connection was lost during apply; the transaction was rolled back, run apply again');
    expect(reasonOf(lost, [])).toBe('the connection to the server was lost (terminating connection due to administrator command)');
    expect(reasonOf(new Error('Connection terminated unexpectedly'), [])).toBe('the connection to the server was lost');
    // The sentence apply builds around it no longer repeats itself.
    const around = `${whole}; the 2 new logins created before it could not be dropped again (${reasonOf(lost, [])})`;
    expect(around.split('the transaction was rolled back')).toHaveLength(2);
    // Other errors keep their own sentence.
    expect(reasonOf(Object.assign(new Error('permission denied to drop role'), { code: '42501' }), [])).toMatch(/^the provisioning role lacks a privilege/);
  });
});
