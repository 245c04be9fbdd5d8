/**
 * Write-ahead delivery in the PostgreSQL engine, with the driver faked (a recording pg.Client in place
 * of the real one): the apply hands every generated password to `deliver`, and awaits it, before any
 * round trip that sets a password reaches the server; and the passwords it then sets are exactly those.
 * The real server and the killed CLI are in test/e2e/credentials-fault.e2e.test.ts.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GeneratedPassword } from '../../provider/engines/engine';
import { connectPostgres, postgresDialect } from '../../provider/engines/postgres';
import { planOffline } from '../../provider/pipeline/plan';
import { policyFromYaml } from '../fixtures/sqlserver/policies';

/** Every command string the fake server received, in order. */
const received: string[] = [];

class FakeClient {
  readonly database: string;
  constructor(options: { connectionString: string }) {
    this.database = decodeURIComponent(new URL(options.connectionString).pathname.slice(1));
  }
  on(): this {
    return this;
  }
  async connect(): Promise<void> {}
  async end(): Promise<void> {}
  async query(sql: string): Promise<{ rows: unknown[] }> {
    received.push(sql);
    // Give the other sessions a turn, as a server would.
    await new Promise((resolve) => setImmediate(resolve));
    return { rows: [] };
  }
}

// PostgresSession requires 'pg' when it connects: the fake takes its place in the require cache.
const require = createRequire(path.join(__dirname, '..', '..', 'provider', 'engines', 'postgres', 'session.ts'));
const pgPath = require.resolve('pg');
let original: NodeJS.Module | undefined;
beforeAll(() => {
  original = require.cache[pgPath];
  require.cache[pgPath] = { id: pgPath, filename: pgPath, loaded: true, exports: { Client: FakeClient } } as unknown as NodeJS.Module;
});
afterAll(() => {
  if (original) require.cache[pgPath] = original;
  else delete require.cache[pgPath];
});

const POLICY = `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: wh }
security: { mode: system_managed }
principals: {}
apps:
${Array.from({ length: 60 }, (_, i) => `  app${i}: { schema: s${i}, source: closed }`).join('\n')}
grants: []
`;

describe('PostgreSQL apply with a faked driver: write-ahead delivery', () => {
  it('delivers every generated password, and waits for it, before any round trip that sets one', async () => {
    const planned = planOffline(policyFromYaml('policy.yaml', POLICY), postgresDialect);
    if (!('statements' in planned)) throw new Error('planOffline gave no statements');
    const conn = await connectPostgres('postgres://pm:pw@127.0.0.1:5432/wh');
    const delivered: GeneratedPassword[] = [];
    let passwordTripsBeforeDelivery = -1;
    received.length = 0;
    const result = await conn.apply(planned.statements.flat(), undefined, {
      deliver: async (passwords) => {
        passwordTripsBeforeDelivery = received.filter((sql) => sql.includes('WITH PASSWORD')).length;
        // A slow destination (an fsync): nothing may reach the server meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(received.filter((sql) => sql.includes('WITH PASSWORD'))).toEqual([]);
        delivered.push(...passwords);
      },
    });
    await conn.close();
    expect(passwordTripsBeforeDelivery).toBe(0);
    // Sixty logins: their passwords went out after the delivery, one per login, each one delivered.
    const set = received.flatMap((sql) => [...sql.matchAll(/ALTER ROLE "([^"]+)" WITH PASSWORD/g)].map((m) => m[1]));
    expect(set).toHaveLength(60);
    expect(new Set(set)).toEqual(new Set(delivered.map((p) => p.login)));
    expect(new Map([...result.secrets])).toEqual(new Map(delivered.map((p) => [p.login, p.password])));
  });
});
