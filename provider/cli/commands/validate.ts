import { DIAGNOSTIC_FORMATS, formatDiagnostics } from '../../diagnostics/format';
import { Diagnostic, hasErrors } from '../../diagnostics/diagnostic';
import { loadPolicy } from '../../policy/load';
import { CommandSpec, oneOf } from '../args';
import { POLICY_OPTIONS, fileProblem } from '../common';
import { CliIO, EXIT } from '../io';
import { PmgrantsError } from '../../model/errors';
import { DEFAULT_EXPIRY_WARNING_DAYS } from '../../policy/rules-expiry';
import { pushAll } from '../../model/collections';

/** --expiry-warning-days: a whole number of days, 0 or more. */
export function expiryWarningDays(value: unknown): number {
  if (value === undefined) return DEFAULT_EXPIRY_WARNING_DAYS;
  const text = String(value);
  if (!/^\d{1,5}$/.test(text)) throw new PmgrantsError(`--expiry-warning-days must be a whole number of days (0 or more), not "${text}"`);
  return Number(text);
}

export const validateSpec: CommandSpec = {
  name: 'validate',
  summary: 'check a policy (and a stack overlay) against the schema and the rules',
  usage: 'pmgrants validate <policy.yaml>... [--stack NAME] [--format text|json|github|sarif] [--expiry-warning-days N]',
  options: {
    ...POLICY_OPTIONS,
    format: { type: 'string', short: 'f', help: 'text (default), json, github (Actions annotations) or sarif', placeholder: 'FORMAT' },
    quiet: { type: 'boolean', short: 'q', help: 'print only errors' },
    'expiry-warning-days': {
      type: 'string',
      help: `warn of grants that expire within N days (default ${DEFAULT_EXPIRY_WARNING_DAYS}; 0: only expired ones)`,
      placeholder: 'N',
    },
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  },
  details:
    'Every problem is reported at once as  file:line:col severity rule-id message.\n' +
    'Grants whose expires has passed are reported as warnings (grant-expired): they are not applied, and the next plan revokes them.\n' +
    'Exit: 0 valid (warnings allowed), 1 invalid, 2 usage error or a file that cannot be read (missing, not a\nregular file, larger than 16 MiB; a stack with no overlay file too).',
};

export async function validateCommand(io: CliIO, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const format = oneOf('format', values.format, DIAGNOSTIC_FORMATS, 'text');
  if (positionals.length === 0) throw new PmgrantsError('validate needs at least one policy file');
  const warningDays = expiryWarningDays(values['expiry-warning-days']);
  let invalid = false;
  const all: Diagnostic[] = [];
  const sources = new Map<string, string>();
  for (const file of positionals) {
    const loaded = loadPolicy(file, { stack: values.stack as string | undefined, stacksDir: values['stacks-dir'] as string | undefined, expiryWarningDays: warningDays });
    const unreadable = fileProblem(loaded.diagnostics);
    if (unreadable) throw unreadable;
    invalid ||= hasErrors(loaded.diagnostics);
    for (const [k, v] of loaded.sources) sources.set(k, v);
    pushAll(all, loaded.diagnostics.filter((d) => (values.quiet ? d.severity === 'error' : true)));
  }
  const text = formatDiagnostics(format, all, sources);
  if (format === 'text' && !invalid && all.length === 0) {
    io.out(`${positionals.join(', ')}: valid${values.stack ? ` with stack ${String(values.stack)}` : ''}\n`);
  } else io.out(text);
  return invalid ? EXIT.invalid : EXIT.ok;
}
