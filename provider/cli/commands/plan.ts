import { PmgrantsError } from '../../model/errors';
import { connectEngine, dialectFor } from '../../engines/registry';
import { planLive, planOffline, RenderedPlan, viewOf } from '../../pipeline/plan';
import { PLAN_FORMATS, formatPlan } from '../../plan/format';
import { hasWork } from '../../plan/change';
import { CommandSpec, oneOf } from '../args';
import { CONNECTION_OPTIONS, POLICY_OPTIONS, databaseUrl, loadValidPolicy } from '../common';
import { CliIO, EXIT } from '../io';
import { addDeliveryNotes, secretsFileOf, SecretsFile } from '../secrets';

export const planSpec: CommandSpec = {
  name: 'plan',
  summary: 'show what applying the policy would change',
  usage: 'pmgrants plan <policy.yaml> [--stack NAME] (--offline | --database-url URL) [--format text|markdown|json|sql] [--detailed-exitcode]',
  options: {
    ...POLICY_OPTIONS,
    ...CONNECTION_OPTIONS,
    offline: { type: 'boolean', help: 'no database: the full creation plan, as the engine statements it would run' },
    neutral: { type: 'boolean', help: 'with --offline: the engine-neutral change list, without statements' },
    format: { type: 'string', short: 'f', help: 'text (default), markdown (for a pull-request comment), json, or sql (one script a DBA can run by hand)', placeholder: 'FORMAT' },
    'detailed-exitcode': { type: 'boolean', help: 'exit 0 when there is nothing to do, 2 when there are changes, 1 on error' },
    'secrets-file': {
      type: 'string',
      help: 'the secrets file apply writes, checked against the logins\' markers: a password the server holds that the file lacks is replaced (default: $PMGRANTS_SECRETS_FILE or .pmgrants/credentials.json; when it does not exist, delivery is not checked)',
      placeholder: 'FILE',
    },
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  },
  details: 'Passwords never appear in a plan: generated ones are shown as ********. A live plan reads the secrets file (never\nwrites it): a login whose password the file does not hold gets a new one ("set a new password"); pending passwords\nthe server took before an apply was interrupted are counted as work on the secrets file, which apply records.\nExit: 0 ok, 1 policy invalid, 2 usage or connection error (with --detailed-exitcode: 0 no changes, 2 changes or\nsecrets-file work, 1 any error).',
};

export async function planCommand(io: CliIO, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const format = oneOf('format', values.format, [...PLAN_FORMATS, 'sql'] as const, 'text');
  if (format === 'sql' && values.neutral) throw new PmgrantsError('--format sql needs an engine; drop --neutral');
  if (positionals.length > 1) throw new PmgrantsError(`plan takes one policy file, not ${positionals.length}`);
  const policy = loadValidPolicy(io, positionals[0], values);
  let view;
  let rendered: RenderedPlan | undefined;
  if (values.offline || values.neutral) {
    const offline = planOffline(policy, values.neutral ? undefined : dialectFor(policy.warehouse.engine));
    if ('statements' in offline) rendered = offline;
    view = viewOf(offline, 'offline: creation plan against an empty database');
  } else {
    const url = databaseUrl(io, values, policy);
    const store = SecretsFile.open(secretsFileOf(values, io.env, io.cwd), { forWriting: false });
    const conn = await connectEngine(policy.warehouse.engine, url);
    try {
      const live = await planLive(conn, policy, store.exists ? { delivered: store.delivered() } : {});
      addDeliveryNotes(live.plan, live.desired, store, live.actual);
      rendered = live;
      view = viewOf(rendered, `live: ${redactUrl(url)}`);
    } finally {
      await conn.close();
    }
  }
  if (format === 'sql') {
    io.out(dialectFor(policy.warehouse.engine).renderScript(rendered!.statements.flat(), rendered!.desired));
  } else io.out(formatPlan(format, view));
  // Work on the secrets file alone (pending passwords to record) is change too: a gate must run apply.
  if (values['detailed-exitcode']) return hasWork(view.plan) ? 2 : EXIT.ok;
  return EXIT.ok;
}

/** Show where we connected without the password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '********';
    return `${u.protocol}//${u.username ? `${u.username}${u.password ? ':' + u.password : ''}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(connection string)';
  }
}
