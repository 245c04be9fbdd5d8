import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasErrors } from '../../diagnostics/diagnostic';
import { formatText } from '../../diagnostics/format';
import { PmgrantsError } from '../../model/errors';
import { connectEngine } from '../../engines/registry';
import { buildExport } from '../../export/catalog';
import { policyYaml } from '../../export/yaml';
import { compilePolicy } from '../../model/compile';
import { EngineName } from '../../model/types';
import { describeChange } from '../../plan/describe';
import { diffState } from '../../plan/diff';
import { checkPolicy } from '../../policy/check';
import { parseSource } from '../../policy/source';
import { CommandSpec, oneOf } from '../args';
import { packageRoot } from '../../package-root';
import { CONNECTION_OPTIONS, databaseUrl } from '../common';
import { CliIO, EXIT } from '../io';

export const exportSpec: CommandSpec = {
  name: 'export',
  summary: "write a starting policy that adopts an existing database's roles and grants",
  usage: 'pmgrants export --engine postgres|sqlserver|azure-sql [--database-url URL] [--schemas a,b] [-o FILE] [--force]',
  options: {
    ...CONNECTION_OPTIONS,
    engine: { type: 'string', short: 'e', help: 'postgres, sqlserver or azure-sql', placeholder: 'ENGINE' },
    schemas: { type: 'string', help: 'only these schemas become apps (comma-separated; default: every schema that is not a system one)', placeholder: 'LIST' },
    output: { type: 'string', short: 'o', help: 'write the policy to FILE instead of standard output', placeholder: 'FILE' },
    force: { type: 'boolean', help: 'overwrite FILE when it exists' },
    prefix: { type: 'string', help: "the managed-name prefix the policy will use (default pmg_); roles carrying it are pmgrants' own, never adopted", placeholder: 'PREFIX' },
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  },
  details: [
    'Reads the database\'s security (read-only) and writes a policy that adopts it: each schema becomes an app,',
    'its owner and the roles holding rights on it are adopted under their own names (apps.<app>.roles),',
    'each such role becomes a custom persona with its actual rights, and its members become principals.',
    'The policy says enforcement: additive, so its first apply can never revoke. What the policy language',
    'cannot say (object-level and column grants, other privileges, roles spanning schemas) is listed in',
    'comments at the top, never dropped silently; so is what planning the policy against the same database',
    'right after the export shows (nothing, when everything was adopted).',
    'Exit: 0 exported, 2 usage or connection error.',
  ].join('\n'),
};

const ENGINES: readonly EngineName[] = ['postgres', 'sqlserver', 'azure-sql'];
const SCHEMA_ID = 'https://pmgrants.dev/schemas/policy/v1.json';

/** schemas/policy.schema.json of this installation, in the package root. */
function schemaFile(): string | undefined {
  const f = path.join(packageRoot(), 'schemas', 'policy.schema.json');
  return fs.existsSync(f) ? f : undefined;
}

export async function exportCommand(io: CliIO, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  if (positionals.length > 0) throw new PmgrantsError(`export takes no policy file (it writes one); got "${positionals[0]}"`);
  if (values.engine === undefined) throw new PmgrantsError('export needs --engine postgres, sqlserver or azure-sql');
  const engine = oneOf('engine', values.engine, ENGINES, 'postgres');
  const url = databaseUrl(io, values);
  const out = values.output as string | undefined;
  const target = out ? path.resolve(io.cwd, out) : undefined;
  if (target && fs.existsSync(target) && !values.force) throw new PmgrantsError(`${out} exists; pass --force to overwrite it`);
  const prefix = values.prefix as string | undefined;
  if (prefix !== undefined && !/^[a-z][a-z0-9_]{0,14}_$/.test(prefix)) {
    throw new PmgrantsError(`--prefix "${prefix}" must be lowercase letters, digits and '_', at most 16 characters, ending in '_'`);
  }
  const wanted = values.schemas === undefined ? undefined : String(values.schemas).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (wanted && wanted.length === 0) throw new PmgrantsError('--schemas lists no schema');

  const conn = await connectEngine(engine, url);
  let text: string;
  let summary: string;
  try {
    const catalog = await conn.exportCatalog({ ...(prefix ? { prefix } : {}) });
    const missing = (wanted ?? []).filter((s) => !catalog.schemas.some((c) => c.name === s));
    if (missing.length > 0) {
      throw new PmgrantsError(`database ${catalog.database} has no schema ${missing.map((m) => `"${m}"`).join(', ')} (it has: ${catalog.schemas.map((s) => s.name).join(', ') || 'none'})`);
    }
    const result = buildExport(catalog, { ...(wanted ? { schemas: wanted } : {}), ...(prefix ? { prefix } : {}) });
    const schema = schemaFile();
    const schemaRef = target && schema ? path.relative(path.dirname(target), schema).split(path.sep).join('/') : SCHEMA_ID;

    // The export must validate; and planning it against the same database says what the first apply would do.
    const draft = policyYaml(result.policy, { schemaRef, notes: result.notes });
    const parsed = parseSource(out ?? 'exported.yaml', draft);
    const checked = parsed.source ? checkPolicy(parsed.source) : { policy: undefined, diagnostics: parsed.diagnostics };
    if (hasErrors(checked.diagnostics) || !checked.policy) {
      throw new PmgrantsError(`the exported policy does not validate, which is a pmgrants bug; please report it:\n${formatText(checked.diagnostics, new Map([[out ?? 'exported.yaml', draft]]))}`);
    }
    const desired = conn.dialect.realize(compilePolicy(checked.policy, { now: new Date() }));
    const plan = diffState(desired, await conn.inspect(desired), { now: new Date() });
    const planLines = plan.changes.map((c) => {
      const d = describeChange(c);
      return `${d.sign} ${d.text}`;
    });
    text = policyYaml(result.policy, { schemaRef, notes: result.notes, plan: [...planLines, ...plan.warnings.map((w) => `warning: ${w}`)] });
    const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
    summary = `exported ${n(Object.keys(result.policy.apps).length, 'app')}, ${n(Object.keys(result.policy.personas ?? {}).length, 'persona')} and ${n(Object.keys(result.policy.principals).length, 'principal')} from ${catalog.database}${target ? ` to ${out}` : ''}; ${n(result.notes.length, 'thing')} not expressed (see the comments); planned against the same database: ${planLines.length === 0 ? 'no changes' : n(planLines.length, 'change')}`;
  } finally {
    await conn.close();
  }
  if (target) fs.writeFileSync(target, text);
  else io.out(text);
  io.err(`${summary}\n`);
  return EXIT.ok;
}
