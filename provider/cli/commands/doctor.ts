import { compilePolicy } from '../../model/compile';
import { connectEngine } from '../../engines/registry';
import { CommandSpec } from '../args';
import { CONNECTION_OPTIONS, POLICY_OPTIONS, databaseUrl, loadValidPolicy } from '../common';
import { CliIO, EXIT } from '../io';
import { redactUrl } from './plan';

export const doctorSpec: CommandSpec = {
  name: 'doctor',
  summary: 'check that the provisioning login has what the policy\'s mode needs',
  usage: 'pmgrants doctor <policy.yaml> [--stack NAME] [--database-url URL]',
  options: { ...POLICY_OPTIONS, ...CONNECTION_OPTIONS, help: { type: 'boolean', short: 'h', help: 'show this help' } },
  details: 'One verdict per check; each failed check prints the statement a DBA would run to fix it.\nExit: 0 all checks pass, 1 policy invalid, 2 usage or connection error, 3 a check failed.',
};

export async function doctorCommand(io: CliIO, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const policy = loadValidPolicy(io, positionals[0], values);
  const url = databaseUrl(io, values);
  const conn = await connectEngine(policy.warehouse.engine, url);
  try {
    const desired = conn.dialect.realize(compilePolicy(policy, { now: new Date() }));
    const checks = await conn.preflight(desired);
    io.out(`pmgrants doctor: ${policy.warehouse.engine} at ${redactUrl(url)}, mode ${policy.security.mode}\n`);
    for (const c of checks) {
      io.out(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}\n`);
      if (!c.ok && c.fix) io.out(`        fix: ${c.fix}\n`);
    }
    const failed = checks.filter((c) => !c.ok).length;
    io.out(failed ? `${failed} of ${checks.length} checks failed.\n` : `All ${checks.length} checks passed.\n`);
    return failed ? 3 : EXIT.ok;
  } finally {
    await conn.close();
  }
}
