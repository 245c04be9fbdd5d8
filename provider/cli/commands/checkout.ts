import { waitingForLockMessage } from '../../engines/lock';
import { connectEngine } from '../../engines/registry';
import { PmgrantsError } from '../../model/errors';
import { checkoutLive, verifyLive } from '../../pipeline/checkout';
import { underApplyLock } from '../../pipeline/plan';
import { receiptText } from '../../plan/checkout';
import { CommandSpec, oneOf } from '../args';
import { BUSY_OPTIONS, CONNECTION_OPTIONS, POLICY_OPTIONS, databaseUrl, loadValidPolicy, patienceOf } from '../common';
import { CliIO, EXIT } from '../io';
import { secretsFileOf, SecretsFile } from '../secrets';
import { applySpec, catchInterruption } from './apply';

export const checkoutSpec: CommandSpec = {
  name: 'checkout',
  summary: "take a fresh password of one app's login for one use",
  usage: 'pmgrants checkout <policy.yaml> <app> [--valid-for DURATION] [--secrets-file FILE] [--format text|json] | --verify GENERATION',
  options: {
    ...POLICY_OPTIONS,
    ...CONNECTION_OPTIONS,
    ...BUSY_OPTIONS,
    'secrets-file': applySpec.options['secrets-file'],
    'valid-for': { type: 'string', help: "how long the password stays valid, e.g. 30m or 2h; only shorter than the policy's security.rotation.validFor", placeholder: 'DURATION' },
    format: { type: 'string', short: 'f', help: 'text (default) or json: the receipt (login, generation, valid until, the password it replaced), never the password', placeholder: 'FORMAT' },
    verify: { type: 'string', help: 'do not take a password: exit 0 while the login still holds the password of GENERATION and it is valid, 3 otherwise', placeholder: 'GENERATION' },
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  },
  details:
    'Credentials per use (UiPath: "passwords are rotated on every use"): sets a new password for the app\'s login and\nnothing else, valid until security.rotation.validFor from now (PostgreSQL VALID UNTIL; SQL Server has no expiry\ntime for a login: the password works until pmgrants replaces it). Delivered like apply\'s: written to the secrets\nfile as "pending" and fsynced before the server sees it; read it from the file\'s entry for the login. The password\nis never printed: stdout carries the receipt. Takes the apply lock first, so two checkouts of one app never\ninterleave: the second waits (saying for whom), then replaces the first one\'s password and names it in its receipt\n("superseded"); the first learns it with --verify. Refused in single_account mode and for adopted logins.\nExit: 0 taken (or --verify: the generation holds), 1 policy invalid, 2 usage, connection or apply error,\n3 --verify: the generation was replaced or has expired, 130/143 interrupted (docs/credentials.md).',
};

export async function checkoutCommand(io: CliIO, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const format = oneOf('format', values.format, ['text', 'json'] as const, 'text');
  const [file, app, ...rest] = positionals;
  if (app === undefined) throw new PmgrantsError('name the app whose login to check out');
  if (rest.length > 0) throw new PmgrantsError(`checkout takes one app, not ${rest.length + 1}`);
  const policy = loadValidPolicy(io, file, values);
  const url = databaseUrl(io, values, policy);
  if (values.verify !== undefined) return verify(io, policy, url, app, String(values.verify));
  // The destination is checked before anything else: a password must never be set that cannot be kept.
  const store = SecretsFile.open(secretsFileOf(values, io.env, io.cwd), { forWriting: true });
  const database = policy.warehouse.database;
  const patience = patienceOf(io, values);
  const interruption = catchInterruption(io);
  try {
    const conn = await connectEngine(policy.warehouse.engine, url);
    try {
      const onWait = (holder: Parameters<typeof waitingForLockMessage>[1]) => io.err(`${waitingForLockMessage(database, holder)}\n`);
      const taken = await underApplyLock(conn, onWait, () =>
        checkoutLive(conn, {
          policy,
          app,
          ...(values['valid-for'] !== undefined ? { validFor: String(values['valid-for']) } : {}),
          deliver: async (passwords) => store.stagePending(passwords, database),
          signal: interruption.signal,
          patience,
        }),
      );
      store.promote(taken.secrets.keys(), database);
      io.out(format === 'json' ? `${JSON.stringify({ ...taken.receipt, secretsFile: store.file }, null, 2)}\n` : receiptText(taken.receipt, store.file));
    } finally {
      await conn.close();
    }
  } catch (e) {
    const code = interruption.exitCode();
    if (code !== undefined && e instanceof PmgrantsError) throw new PmgrantsError(e.message, code);
    throw e;
  } finally {
    interruption.dispose();
  }
  return EXIT.ok;
}

/** --verify: whether the taker of GENERATION still holds the live password (exit 0) or not (3). */
async function verify(io: CliIO, policy: Parameters<typeof verifyLive>[1], url: string, app: string, generation: string): Promise<number> {
  const conn = await connectEngine(policy.warehouse.engine, url);
  try {
    const verdict = await verifyLive(conn, policy, app, generation);
    if (verdict.live) io.out(`${verdict.message}\n`);
    else io.err(`${verdict.message}\n`);
    return verdict.live ? EXIT.ok : 3;
  } finally {
    await conn.close();
  }
}
