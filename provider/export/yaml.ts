/**
 * The exported policy as YAML text, in the examples' style (flow mappings for principals and grants),
 * with what the policy does not express as comments. Pure and deterministic.
 */
import { Policy } from '../model/types';
import { PersonalColumnSpec } from '../model/masking';
import { maxOf, pushAll } from '../model/collections';

const PLAIN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const KEYWORDS = /^(true|false|null|yes|no|on|off|y|n|~)$/i;

/** A scalar: plain when YAML reads it back as the same string, else double-quoted (JSON is YAML). */
export function scalar(value: string | number | boolean): string {
  if (typeof value !== 'string') return String(value);
  return PLAIN.test(value) && !KEYWORDS.test(value) ? value : JSON.stringify(value);
}

function flowList(items: readonly string[]): string {
  return `[${items.map(scalar).join(', ')}]`;
}

function flowMap(entries: [string, string | undefined][]): string {
  return `{ ${entries
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${scalar(k)}: ${v}`)
    .join(', ')} }`;
}

/** A personal column's mask: the kind alone, or a flow mapping with its options. */
function maskYaml(mask: PersonalColumnSpec): string {
  if (typeof mask === 'string') return mask;
  return flowMap([
    ['mask', mask.mask],
    ['text', mask.text !== undefined ? JSON.stringify(mask.text) : undefined],
    ['first', mask.first !== undefined ? String(mask.first) : undefined],
    ['last', mask.last !== undefined ? String(mask.last) : undefined],
  ]);
}

/** Comment lines, wrapped at about 110 columns, each starting with `# ` and the indent. */
function comment(text: string, indent = ''): string[] {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + w.length + 1 > 108) {
      lines.push(line);
      line = `  ${w}`;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.map((l) => `# ${indent}${l}`.trimEnd());
}

export interface ExportHeader {
  /** Path or URL of schemas/policy.schema.json for the yaml-language-server line. */
  schemaRef: string;
  /** Sentences about what the policy does not express. */
  notes: string[];
  /** What planning the policy against the same database right after export showed (one line each). */
  plan?: string[];
}

export function policyYaml(policy: Policy, header: ExportHeader): string {
  const out: string[] = [`# yaml-language-server: $schema=${header.schemaRef}`, '#'];
  pushAll(
    out,
    comment(
      `Exported by pmgrants export from database ${policy.warehouse.database} (${policy.warehouse.engine}). A starting policy: it adopts the roles that exist (apps.<app>.roles) with custom personas made from their actual rights, and only ever adds (enforcement: additive). Review it, validate it, and plan it against the same database before changing anything.`,
    ),
  );
  if (header.notes.length > 0) {
    out.push('#', '# Notes. What this policy does not express is left as it is (pmgrants never revokes what it does not manage):');
    for (const n of header.notes) pushAll(out, comment(`- ${n}`, '  '));
  }
  if (header.plan) {
    out.push('#');
    if (header.plan.length === 0) out.push(`# Planned against ${policy.warehouse.database} right after export: no changes.`);
    else {
      out.push(`# Planned against ${policy.warehouse.database} right after export, the first apply would make ${header.plan.length} change${header.plan.length === 1 ? '' : 's'}:`);
      for (const line of header.plan) pushAll(out, comment(line, '  '));
    }
  }
  out.push(`apiVersion: ${policy.apiVersion}`);
  out.push(`warehouse: ${flowMap([['engine', scalar(policy.warehouse.engine)], ['database', scalar(policy.warehouse.database)]])}`);
  out.push(`security: ${flowMap([['mode', policy.security.mode]])}`);
  const o = policy.options ?? {};
  out.push(
    `options: ${flowMap([
      ['prefix', o.prefix !== undefined ? scalar(o.prefix) : undefined],
      ['enforcement', o.enforcement],
      ['builtinPersonas', o.builtinPersonas !== undefined ? String(o.builtinPersonas) : undefined],
    ])}`,
  );

  const principals = Object.entries(policy.principals);
  if (principals.length === 0) out.push('principals: {}');
  else {
    out.push('principals:');
    const width = maxOf(principals.map(([k]) => k.length), 0) + 1;
    for (const [key, p] of principals) {
      out.push(`  ${`${key}:`.padEnd(width)} ${flowMap([['kind', p.kind], ['name', p.name !== undefined ? scalar(p.name) : undefined], ['objectId', p.objectId]])}`);
    }
  }

  const personas = Object.entries(policy.personas ?? {});
  if (personas.length === 0) out.push('personas: {}');
  else {
    out.push('personas:');
    for (const [key, p] of personas) {
      out.push(
        `  ${key}: ${flowMap([
          ['scope', p.scope],
          ['rights', flowList(p.rights)],
          ['personalData', p.personalData],
          ['description', p.description !== undefined ? JSON.stringify(p.description) : undefined],
        ])}`,
      );
    }
  }

  const apps = Object.entries(policy.apps);
  if (apps.length === 0) out.push('apps: {}');
  else {
    out.push('apps:');
    for (const [key, a] of apps) {
      out.push(`  ${key}:`, `    schema: ${scalar(a.schema)}`);
      if (a.source !== 'closed') out.push(`    source: ${a.source}`);
      if (a.personas) out.push(`    personas: ${flowList(a.personas)}`);
      const roles = Object.entries(a.roles ?? {});
      if (roles.length > 0) out.push(`    roles: ${flowMap(roles.map(([k, v]) => [k, scalar(v)]))}`);
      const columns = Object.entries(a.personalData?.columns ?? {});
      if (columns.length > 0) {
        out.push('    personalData:', '      columns:');
        for (const [pattern, mask] of columns) out.push(`        ${JSON.stringify(pattern)}: ${maskYaml(mask)}`);
      }
    }
  }

  if (policy.grants.length === 0) out.push('grants: []');
  else {
    out.push('grants:');
    for (const g of policy.grants) {
      out.push(`  - ${flowMap([['persona', g.persona], ['to', flowList(g.to)], ['apps', g.apps ? flowList(g.apps) : undefined]])}`);
    }
  }
  return out.join('\n') + '\n';
}
