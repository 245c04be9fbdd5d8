/**
 * The Pulumi program under pulumi.runtime.setMocks: which resources it registers, with which inputs,
 * what it exports (passwords as secrets), the optional Azure Key Vault secrets, invalid setups, and
 * the serialized dynamic providers (no secret, no connection URL, no captured core code).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type * as PulumiModule from '@pulumi/pulumi';
import { compilePolicy } from '../../provider/model/compile';
import { Policy } from '../../provider/model/types';
import { appPart, sliceDesired, WAREHOUSE } from '../../provider/plan/slice';
import { DIST, distRequire, packageRequire } from './pulumi-dist';

const pulumi = packageRequire<typeof PulumiModule>('@pulumi/pulumi');
const program = distRequire<typeof import('../../provider/pulumi/program')>('provider/pulumi/program');
const resources = distRequire<typeof import('../../provider/pulumi/resources')>('provider/pulumi/resources');
const providers = distRequire<typeof import('../../provider/pulumi/providers')>('provider/pulumi/providers');

const ADMIN_URL = 'postgres://pmgrants_admin:Adm1n-Pa55word@warehouse.example.internal:5432/wh';
const VAULT_ID = '/subscriptions/0b1c2d3e-0000-4000-8000-000000000001/resourceGroups/pm-rg/providers/Microsoft.KeyVault/vaults/pm-vault';

/** The serialized provider text each resource stores twice: one method, about 1.4 KB with Pulumi's wrappers (the floor program's five do-nothing methods: 1.8 KB). */
const PROVIDER_TEXT_LIMIT = 1_600;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-pulumi-program-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function policyDoc(mode: 'system_managed' | 'single_account' = 'system_managed'): Policy {
  return {
    apiVersion: 'pmgrants/v1',
    warehouse: { engine: 'postgres', database: 'wh', server: 'warehouse.example.internal', port: 5432 },
    security: { mode },
    principals: {
      admins: { kind: 'entra-group', objectId: '2b6f1c3e-8d2a-4f0b-9a51-0c7e4d1f2a01' },
      analysts: { kind: 'entra-group', objectId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04' },
    },
    apps: { p2p: { schema: 'p2p', source: 'closed' }, o2c: { schema: 'o2c', source: 'open' } },
    grants: [
      { persona: 'app_admin', to: ['admins'] },
      { persona: 'data_consumer', to: ['analysts'], apps: ['*'] },
    ],
  };
}

function writePolicy(name: string, doc: unknown): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, JSON.stringify(doc, null, 2)); // JSON is YAML
  return file;
}

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** Run the program with mocks and `config`; return what it registered and what it exports, resolved. */
async function run(config: Record<string, string>, secretKeys: string[] = ['pmgrants:databaseUrl']) {
  const registered: Registered[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state = { ...args.inputs };
        if (args.type.startsWith('pulumi-nodejs:dynamic/pmgrants:')) {
          const login = args.type.endsWith(':App') ? (args.inputs.logins as { name: string }[])[0]?.name : (args.inputs.logins as { name: string }[])[0]?.name;
          if (login) Object.assign(state, { login, password: `mock-password-of-${login}`, passwordGeneration: `mock-generation-of-${login}`, passwordValidUntil: '2030-01-01T08:00:00.000Z' });
        }
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    'pmgrants',
    'dev',
    false,
  );
  pulumi.runtime.setAllConfig(config, secretKeys);
  const stack = program.definePmgrantsStack();
  const resolve = <T>(o: PulumiModule.Output<T>) => new Promise<T>((r) => o.apply((v) => r(v)));
  const apps = Object.fromEntries(
    await Promise.all(
      Object.entries(stack.outputs.apps).map(
        async ([app, c]) =>
          [
            app,
            {
              ...c,
              password: await resolve(c.password),
              passwordIsSecret: await pulumi.isSecret(c.password),
              ...(c.passwordGeneration ? { passwordGeneration: await resolve(c.passwordGeneration) } : {}),
              ...(c.passwordValidUntil ? { passwordValidUntil: await resolve(c.passwordValidUntil) } : {}),
            },
          ] as const,
      ),
    ),
  );
  // Let every registration finish (the dynamic providers serialize asynchronously).
  await Promise.all([stack.warehouse, ...Object.values(stack.apps)].map((r) => resolve(r.urn)));
  await Promise.all(Object.values(stack.keyVaultSecrets).map((r) => resolve(r.urn)));
  return { stack, registered, apps };
}

const baseConfig = (policyFile: string): Record<string, string> => ({
  'pmgrants:policy': policyFile,
  'pmgrants:overlay': 'none',
  'pmgrants:databaseUrl': ADMIN_URL,
});

describe('the program', () => {
  it('registers one Warehouse and one App per app, each with its slice of the compiled policy', async () => {
    const file = writePolicy('two-apps.yaml', policyDoc());
    const { registered } = await run(baseConfig(file));
    const ours = registered.filter((r) => r.type.startsWith('pulumi-nodejs:'));
    expect(ours.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
      'pulumi-nodejs:dynamic/pmgrants:App o2c',
      'pulumi-nodejs:dynamic/pmgrants:App p2p',
      'pulumi-nodejs:dynamic/pmgrants:Warehouse warehouse',
    ]);
    expect(registered.some((r) => r.type.startsWith('azure-native:'))).toBe(false);
    const desired = compilePolicy(policyDoc());
    const p2p = ours.find((r) => r.name === 'p2p')!.inputs;
    const slice = sliceDesired(desired, appPart('p2p'));
    expect(p2p.app).toBe('p2p');
    expect(p2p.engine).toBe('postgres');
    expect(p2p.database).toBe('wh');
    expect(p2p.permissions).toEqual(JSON.parse(JSON.stringify(slice.permissions)));
    expect(p2p.memberships).toEqual(slice.memberships);
    const wh = ours.find((r) => r.name === 'warehouse')!.inputs;
    expect(wh.app).toBeUndefined();
    expect(wh.roles).toEqual(sliceDesired(desired, WAREHOUSE).roles);
    expect(wh.diagnostics).toBeUndefined();
  });

  it('exports each app\'s connection facts, the password as a secret', async () => {
    const { apps } = await run(baseConfig(writePolicy('exports.yaml', policyDoc())));
    expect(apps.p2p).toEqual({
      app: 'p2p',
      database: 'wh',
      schema: 'p2p',
      login: 'pmg_p2p_app',
      password: 'mock-password-of-pmg_p2p_app',
      passwordIsSecret: true,
      server: 'warehouse.example.internal',
      port: 5432,
    });
  });

  it('with a password lifetime, each app exports its password\'s generation and validity (without one, neither: outputs a preview cannot know)', async () => {
    const doc = policyDoc();
    const { apps } = await run(baseConfig(writePolicy('lifetime.yaml', { ...doc, security: { ...doc.security, rotation: { validFor: '8h' } } })));
    expect(apps.p2p).toMatchObject({ passwordGeneration: 'mock-generation-of-pmg_p2p_app', passwordValidUntil: '2030-01-01T08:00:00.000Z' });
    const plain = (await run(baseConfig(writePolicy('no-lifetime.yaml', doc)))).apps.p2p;
    expect(['passwordGeneration' in plain, 'passwordValidUntil' in plain]).toEqual([false, false]);
  });

  it('pmgrants:checkout gives each named app its own checkout token; an unknown app or single_account is refused', async () => {
    const file = writePolicy('checkout.yaml', policyDoc());
    const { registered } = await run({ ...baseConfig(file), 'pmgrants:checkout': JSON.stringify({ p2p: 'run-42', o2c: 7 }) });
    const token = (name: string) => registered.find((r) => r.name === name)!.inputs.checkoutToken;
    expect([token('p2p'), token('o2c'), token('warehouse')]).toEqual(['run-42', '7', undefined]);
    const unknown = await run({ ...baseConfig(file), 'pmgrants:checkout': JSON.stringify({ p2q: 'x' }) });
    expect(unknown.registered.find((r) => r.name === 'warehouse')!.inputs.diagnostics).toEqual(['pmgrants:checkout names "p2q", which the policy does not define as an app']);
    const shared = await run({ ...baseConfig(writePolicy('checkout-shared.yaml', policyDoc('single_account'))), 'pmgrants:checkout': JSON.stringify({ p2p: 'x' }) });
    expect(shared.registered.find((r) => r.name === 'warehouse')!.inputs.diagnostics).toEqual([
      'pmgrants:checkout takes a password per app, but in single_account mode every app shares one login; use rotationToken',
    ]);
    const bad = await run({ ...baseConfig(file), 'pmgrants:checkout': '"p2p"' });
    expect(bad.registered.find((r) => r.name === 'warehouse')!.inputs.diagnostics).toEqual([
      "pmgrants:checkout must be an object of app keys to tokens; set one with \"pulumi config set --path 'pmgrants:checkout.<app>' <token>\"",
    ]);
  });

  it('single_account: every app connects with the warehouse\'s shared login and password', async () => {
    const { apps } = await run(baseConfig(writePolicy('single.yaml', policyDoc('single_account'))));
    expect(apps.o2c.login).toBe('pmg_shared');
    expect(apps.o2c.password).toBe('mock-password-of-pmg_shared');
    expect(apps.p2p.password).toBe('mock-password-of-pmg_shared');
    expect(apps.p2p.passwordIsSecret).toBe(true);
  });

  it('the resource count grows with apps, not with grants: 300 apps and 1,500 grants are 301 resources', async () => {
    const doc = policyDoc();
    const apps = Array.from({ length: 300 }, (_, i) => `app-${String(i).padStart(3, '0')}`);
    const principals = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`team-${i}`, { kind: 'sql-login' as const }]));
    const big = {
      ...doc,
      principals,
      apps: Object.fromEntries(apps.map((a) => [a, { schema: a.replace('-', '_'), source: 'closed' as const }])),
      grants: apps.flatMap((a, i) =>
        Array.from({ length: 5 }, (_, k) => ({ persona: k % 2 ? 'data_consumer' : 'process_admin', to: [`team-${(i + k) % 50}`], apps: [a] })),
      ),
    };
    const { registered } = await run(baseConfig(writePolicy('big.yaml', big)));
    const ours = registered.filter((r) => r.type.startsWith('pulumi-nodejs:'));
    expect(ours.length).toBe(301);
  });

  it('with pmgrants:keyVaultId, stores each app\'s password as an azure-native Key Vault secret; without, no Azure resource', async () => {
    const file = writePolicy('azure.yaml', policyDoc());
    const { registered, apps } = await run({ ...baseConfig(file), 'pmgrants:keyVaultId': VAULT_ID });
    const secrets = registered.filter((r) => r.type === 'azure-native:keyvault:Secret');
    expect(secrets.map((s) => s.name).sort()).toEqual(['o2c-credentials', 'p2p-credentials']);
    const p2p = secrets.find((s) => s.name === 'p2p-credentials')!.inputs;
    expect(p2p).toEqual({
      resourceGroupName: 'pm-rg',
      vaultName: 'pm-vault',
      secretName: 'pmgrants-dev-p2p',
      // The engine's secret envelope (Pulumi's special signature key and its "secret" value): encrypted in the state.
      properties: {
        '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270',
        value: { value: 'mock-password-of-pmg_p2p_app', contentType: 'text/plain; pmgrants generated password' },
      },
      tags: { app: 'p2p', login: 'pmg_p2p_app', database: 'wh', stack: 'dev' },
    });
    expect(apps.p2p.keyVaultSecret).toBe('pmgrants-dev-p2p');
  });

  it('a malformed pmgrants:keyVaultId is a check failure, and nothing else is registered', async () => {
    const { registered } = await run({ ...baseConfig(writePolicy('azure-bad.yaml', policyDoc())), 'pmgrants:keyVaultId': 'my-vault' });
    expect(registered.filter((r) => r.type !== 'pulumi:pulumi:Stack').map((r) => r.name)).toEqual(['warehouse']);
    expect(registered.find((r) => r.name === 'warehouse')!.inputs.diagnostics).toEqual([
      'pmgrants:keyVaultId must be a Key Vault resource id like /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<name>, not "my-vault"',
    ]);
  });

  it('an invalid policy registers only the Warehouse, carrying every diagnostic for its check', async () => {
    const bad = { ...policyDoc(), grants: [{ persona: 'data_consumer', to: ['nobody'], apps: ['p2q'] }] };
    const file = writePolicy('invalid.yaml', bad);
    const { registered, apps } = await run(baseConfig(file));
    const ours = registered.filter((r) => r.type.startsWith('pulumi-nodejs:'));
    expect(ours.map((r) => r.name)).toEqual(['warehouse']);
    const diagnostics = ours[0].inputs.diagnostics as string[];
    expect(diagnostics.length).toBe(2);
    expect(diagnostics[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ error unknown-`));
    expect(diagnostics.join('\n')).toContain('unknown app "p2q"');
    expect(diagnostics.join('\n')).toContain('"nobody"');
    expect(apps).toEqual({});
    // The warehouse provider turns them into check failures.
    providers.configure({ get: () => ADMIN_URL });
    const { failures } = await providers.check('warehouse', ours[0].inputs as never, ours[0].inputs as never);
    expect(failures.map((f) => f.reason)).toEqual(diagnostics);
  });

  it('applies stacks/<stack>.yaml by default and says so when it is missing', async () => {
    const file = writePolicy('overlayed.yaml', policyDoc());
    fs.mkdirSync(path.join(tmp, 'stacks'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'stacks', 'dev.yaml'), 'apiVersion: pmgrants/v1\noverlay:\n  warehouse:\n    database: wh_dev\napps: [p2p]\n');
    const { registered } = await run({ 'pmgrants:policy': file, 'pmgrants:stacksDir': path.join(tmp, 'stacks'), 'pmgrants:databaseUrl': ADMIN_URL });
    const ours = registered.filter((r) => r.type.startsWith('pulumi-nodejs:'));
    expect(ours.map((r) => r.name).sort()).toEqual(['p2p', 'warehouse']);
    expect(new Set(ours.map((r) => r.inputs.database))).toEqual(new Set(['wh_dev']));
    const missing = await run({ 'pmgrants:policy': file, 'pmgrants:overlay': 'qa', 'pmgrants:stacksDir': path.join(tmp, 'stacks'), 'pmgrants:databaseUrl': ADMIN_URL });
    expect(missing.registered.find((r) => r.name === 'warehouse')!.inputs.diagnostics).toEqual([
      `${file} error unknown-stack no overlay for stack "qa" (looked for stacks/qa.yaml)`,
    ]);
  });

  it('refuses a missing policy setting and an admin URL stored in plain text', async () => {
    const { registered } = await run({ 'pmgrants:databaseUrl': ADMIN_URL });
    expect(registered.find((r) => r.name === 'warehouse')!.inputs.diagnostics).toEqual(['no policy: set its path with "pulumi config set pmgrants:policy <file>"']);
    const plain = await run(baseConfig(writePolicy('plain.yaml', policyDoc())), []);
    const diagnostics = plain.registered.find((r) => r.name === 'warehouse')!.inputs.diagnostics as string[];
    expect(diagnostics).toEqual([
      'pmgrants:databaseUrl is stored in plain text in the stack\'s config; set it again with "pulumi config set --secret pmgrants:databaseUrl <url>"',
    ]);
    expect(diagnostics.join('')).not.toContain('Adm1n');
  });
});

describe('the serialized dynamic providers', () => {
  it('capture no secret, no connection URL, no driver and no core code; they only locate providers.js', async () => {
    // Configure the behaviour module in this process first: what configure stores must never reach the text.
    providers.configure({ get: (k) => (k === 'pmgrants:databaseUrl' ? ADMIN_URL : undefined) });
    for (const kind of ['warehouse', 'app'] as const) {
      // As pulumi.dynamic.Resource does it: a function returning the provider object.
      const provider = resources.providerFor(kind);
      const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false });
      expect(serialized.containsSecrets).toBe(false);
      const text = serialized.text;
      expect(text).not.toContain('Adm1n');
      expect(text).not.toContain('warehouse.example.internal');
      expect(text).not.toMatch(/postgres:\/\//);
      expect(text).not.toMatch(/require\(["'](pg|mssql)["']\)/);
      expect(text).not.toContain('diffState');
      expect(text).not.toContain('compilePolicy');
      expect(text).toContain('providers.js');
      expect(text).toContain(`kind: "${kind}"`);
      expect(text.length).toBeLessThan(5_000);
    }
  });

  /** A serialized provider as the dynamic-provider host holds it: its own copy (configure installs the operations on it). */
  function hostCopy(kind: 'warehouse' | 'app') {
    return { ...resources.providerFor(kind) } as ReturnType<typeof resources.providerFor> & Partial<import('../../provider/pulumi/providers').InstalledOperations>;
  }
  const configRequest = { config: { get: (k: string) => (k === 'pmgrants:databaseUrl' ? ADMIN_URL : undefined) } } as never;

  async function withProvidersFile<T>(file: string | undefined, fn: () => Promise<T>): Promise<T> {
    const previous = process.env.PMGRANTS_PULUMI_PROVIDERS;
    const cwd = process.cwd();
    if (file) process.env.PMGRANTS_PULUMI_PROVIDERS = file;
    else {
      delete process.env.PMGRANTS_PULUMI_PROVIDERS;
      process.chdir(tmp); // no dist/ and no node_modules/pmgrants above the temporary directory
    }
    try {
      return await fn();
    } finally {
      process.chdir(cwd);
      if (previous === undefined) delete process.env.PMGRANTS_PULUMI_PROVIDERS;
      else process.env.PMGRANTS_PULUMI_PROVIDERS = previous;
    }
  }

  it('install every operation synchronously in configure: the host caches the object before configure and may hand it to the next operation at its first await', async () => {
    await withProvidersFile(path.join(DIST, 'provider', 'pulumi', 'providers.js'), async () => {
      const provider = hostCopy('app');
      expect(provider.create).toBeUndefined();
      const configured = provider.configure(configRequest);
      // Nothing awaited yet: what a concurrent operation of the host would find.
      for (const op of ['check', 'diff', 'create', 'read', 'update', 'delete'] as const) expect(typeof provider[op], op).toBe('function');
      await configured;
      // The shared provider object (the one Pulumi serializes) is left as it was: one method.
      expect(Object.keys(resources.providerFor('app')).sort()).toEqual(['configure', 'kind']);
    });
  });

  it('turn a failure into one sentence: what the dynamic-provider host prints (`${e}: ${e.stack}`) holds no stack trace', async () => {
    await withProvidersFile(path.join(DIST, 'provider', 'pulumi', 'providers.js'), async () => {
      const provider = hostCopy('app');
      await provider.configure(configRequest);
      const failure = await provider.read!('x', undefined).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      const sentence = 'pmgrants resources cannot be imported: declare the app in the policy and run pulumi up, which adopts what already exists';
      expect(failure?.message).toBe(sentence);
      expect(`${failure}: ${failure?.stack}`).toBe(`pmgrants: ${sentence}`);
    });
  });

  it('without a built providers.js anywhere, configure and then every operation fail with the same one sentence', async () => {
    await withProvidersFile(undefined, async () => {
      const provider = hostCopy('warehouse');
      const failure = await provider.configure(configRequest).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      const sentence = `no dist/provider/pulumi/providers.js in ${fs.realpathSync(tmp)} or above: run "npm run build" there`;
      expect(`${failure}: ${failure?.stack}`).toBe(`pmgrants: ${sentence}`);
      // The host keeps the object after a failed configure: no operation may then succeed, nor check be skipped.
      for (const op of ['check', 'diff', 'create', 'read', 'update', 'delete'] as const) {
        const e = await (provider[op] as (...a: unknown[]) => Promise<unknown>)().then(
          () => undefined,
          (x: unknown) => x as Error,
        );
        expect(e?.message, op).toBe(sentence);
      }
    });
  });

  it('a providers.js that fails to load: configure and then every operation fail with the first line of its error', async () => {
    const broken = path.join(tmp, 'broken-providers.js');
    fs.writeFileSync(broken, "throw new Error('providers.js is half written\\n    at its stack');\n");
    await withProvidersFile(broken, async () => {
      const provider = hostCopy('app');
      const failure = await provider.configure(configRequest).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(`${failure}: ${failure?.stack}`).toBe('pmgrants: providers.js is half written');
      for (const op of ['check', 'diff', 'create', 'read', 'update', 'delete'] as const) {
        const e = await (provider[op] as (...a: unknown[]) => Promise<unknown>)().then(
          () => undefined,
          (x: unknown) => x as Error,
        );
        expect(e?.message, op).toBe('providers.js is half written');
      }
    });
  });

  it('are what the resources register as __provider, without the URL', async () => {
    const { registered } = await run(baseConfig(writePolicy('provider-text.yaml', policyDoc())));
    for (const r of registered.filter((x) => x.type.startsWith('pulumi-nodejs:'))) {
      const text = r.inputs.__provider as string;
      expect(typeof text).toBe('string');
      // One method that loads the behaviour module, which installs the operations: no core code in the state.
      expect(text).toContain('providers.js');
      expect(text).toContain('.install(this, this.kind, r.config)');
      expect(text).not.toContain('diffState');
      expect(Buffer.byteLength(text)).toBeLessThan(PROVIDER_TEXT_LIMIT);
      expect(text).not.toContain('Adm1n');
      expect(text).not.toContain('warehouse.example.internal');
    }
  });
});
