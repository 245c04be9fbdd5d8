import * as fs from 'node:fs';
import * as path from 'node:path';
import { PmgrantsError } from '../../model/errors';
import { connectEngine } from '../../engines/registry';
import { compilePolicy } from '../../model/compile';
import { checkConnectedDatabase } from '../../pipeline/database';
import { buildReport } from '../../report/compute';
import { REPORT_FORMATS, formatReport, reportHeadline } from '../../report/format';
import { CommandSpec, oneOf } from '../args';
import { CONNECTION_OPTIONS, POLICY_OPTIONS, databaseUrl, loadValidPolicy } from '../common';
import { CliIO, EXIT } from '../io';
import { expiryWarningDays } from './validate';
import { DEFAULT_EXPIRY_WARNING_DAYS } from '../../model/expiry';

export const reportSpec: CommandSpec = {
  name: 'report',
  summary: 'access review evidence: who can effectively do what on every app, read from the live database',
  usage: 'pmgrants report <policy.yaml> [--stack NAME] [--database-url URL] [--format markdown|html|csv|json] [-o FILE] [--as-of TEXT] [--expiry-warning-days N] [--detailed-exitcode]',
  options: {
    ...POLICY_OPTIONS,
    ...CONNECTION_OPTIONS,
    format: { type: 'string', short: 'f', help: 'markdown (default; for a pull request or ticket), html (one self-contained file), csv (one row per principal, app, right and path), json (schemas/report.schema.json)', placeholder: 'FORMAT' },
    output: { type: 'string', short: 'o', help: 'write the report to FILE instead of standard output (overwrites it)', placeholder: 'FILE' },
    'as-of': { type: 'string', help: 'a stamp printed in the report, e.g. "Q3 2026 review"', placeholder: 'TEXT' },
    'expiry-warning-days': {
      type: 'string',
      help: `list in the summary the grants that end within N days (default ${DEFAULT_EXPIRY_WARNING_DAYS}, as validate warns)`,
      placeholder: 'N',
    },
    'detailed-exitcode': { type: 'boolean', help: 'exit 0 when there is no drift, 2 when the database grants something the policy does not (privileged and inherent access do not count) or a protected role has a member the policy does not name' },
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  },
  details:
    'Every principal that can reach an app schema (the policy\'s principals, generated logins, unmanaged roles,\nPUBLIC, superusers) x every app x every right, with the path it comes through, each marked expected, drift\n(granted, not in the policy), missing (in the policy, not granted), privileged (superuser-like bypass, or the\nprovisioning login\'s administration) or inherent (the engine gives it to every role). Members of the policy\'s\nteams are expected through their team; cells show objects and columns when not the whole schema, and\n"until <date>" / "expired on <date>" for expiring grants. Generated logins: password age, rotation and when\neach password expires. Protected roles (policy `protected`): their members, named by the policy or not.\nPersonal data: a principal that reads an app through its masked views has the app\'s cell, marked\n"personal data masked" (or "hidden").\nThe report names the database and a SHA-256 digest of the catalog rows read. Read-only; see docs/report.md.\nExit: 0 ok, 1 policy invalid, 2 usage or connection error (with --detailed-exitcode: 2 when there is drift\nor an unnamed member of a protected role).',
};

export async function reportCommand(io: CliIO, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const format = oneOf('format', values.format, REPORT_FORMATS, 'markdown');
  if (positionals.length > 1) throw new PmgrantsError(`report takes one policy file, not ${positionals.length}`);
  const file = positionals[0] === undefined ? undefined : path.resolve(io.cwd, positionals[0]);
  const policy = loadValidPolicy(io, file, values);
  const url = databaseUrl(io, values);
  const warningDays = expiryWarningDays(values['expiry-warning-days']);
  const out = values.output as string | undefined;
  const target = out ? path.resolve(io.cwd, out) : undefined;
  if (target && !fs.existsSync(path.dirname(target))) throw new PmgrantsError(`cannot write ${out}: directory ${path.dirname(out!) || '.'} does not exist`);
  const now = new Date();
  // Expired grants (grants[].expires) are not expected: the policy as of now.
  const desired = compilePolicy(policy, { now });
  const conn = await connectEngine(policy.warehouse.engine, url);
  let report;
  try {
    if (!conn.readAccess) throw new PmgrantsError(`the ${policy.warehouse.engine} engine cannot read effective access`);
    const facts = await conn.readAccess(desired);
    // Evidence about one database compared with another's policy would be wrong evidence.
    checkConnectedDatabase(policy.warehouse.engine, facts.identity.database, desired.database);
    report = buildReport(facts, {
      desired,
      policy,
      policyFile: path.relative(io.cwd, file!) || file!,
      ...(values['as-of'] !== undefined ? { asOf: String(values['as-of']) } : {}),
      now,
      expiryWarningDays: warningDays,
    });
  } finally {
    await conn.close();
  }
  const text = formatReport(format, report);
  if (target) {
    try {
      fs.writeFileSync(target, text);
    } catch (err) {
      throw new PmgrantsError(`cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    io.err(`${reportHeadline(report)}; written to ${out}\n`);
  } else io.out(text);
  // Drift, and members of protected roles that the policy does not name: both are what the database has and the policy does not say.
  if (values['detailed-exitcode']) return report.summary.cells.drift > 0 || (report.summary.unnamedProtectedMembers?.length ?? 0) > 0 ? 2 : EXIT.ok;
  return EXIT.ok;
}
