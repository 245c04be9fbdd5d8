import { parseArgs } from 'node:util';
import { PmgrantsError } from '../model/errors';
import { maxOf } from '../model/collections';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  help: string;
  placeholder?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  details?: string;
}

export function parseCommandArgs(spec: CommandSpec, argv: string[]): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const options = Object.fromEntries(
      Object.entries(spec.options).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
    );
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Record<string, unknown>, positionals };
  } catch (e) {
    const msg = (e as Error).message.replace(/\.$/, '').replace(/^Unknown option '([^']+)'.*$/, "unknown option '$1'");
    throw new PmgrantsError(`${spec.name}: ${msg}; see 'pmgrants ${spec.name} --help'`);
  }
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`pmgrants ${spec.name} — ${spec.summary}`, '', `Usage: ${spec.usage}`, '', 'Options:'];
  const rows = Object.entries(spec.options).map(([k, o]) => [`${o.short ? `-${o.short}, ` : '    '}--${k}${o.type === 'string' ? ` ${o.placeholder ?? 'VALUE'}` : ''}`, o.help]);
  const width = maxOf(rows.map((r) => r[0].length), 0);
  for (const [l, r] of rows) lines.push(`  ${l.padEnd(width)}  ${r}`);
  if (spec.details) lines.push('', spec.details);
  return lines.join('\n') + '\n';
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new PmgrantsError(`--${name} must be one of ${allowed.join(', ')}, not "${String(value)}"`);
}
