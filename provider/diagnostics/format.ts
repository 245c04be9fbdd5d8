import { Diagnostic, RULES } from './diagnostic';

/** Formatters are pure: (diagnostics, sources) -> text. The CLI picks one by name. */
export type DiagnosticFormat = 'text' | 'json' | 'github' | 'sarif';
export const DIAGNOSTIC_FORMATS: DiagnosticFormat[] = ['text', 'json', 'github', 'sarif'];

/** File contents by file name, so the text format can show a caret excerpt. */
export type Sources = ReadonlyMap<string, string>;

function location(d: Diagnostic): string {
  return d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
}

function excerpt(d: Diagnostic, sources: Sources): string[] {
  const text = sources.get(d.file);
  if (text === undefined || d.line <= 0) return [];
  // Find the line without splitting a possibly huge file into an array.
  let start = 0;
  for (let l = 1; l < d.line; l++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) return [];
    start = nl + 1;
  }
  let end = text.indexOf('\n', start);
  if (end < 0) end = text.length;
  const raw = text.slice(start, end).replace(/\r$/, '');
  if (raw.length > 200) return [];
  const gutter = String(d.line).padStart(5);
  const pad = raw.slice(0, Math.max(0, d.column - 1)).replace(/[^\t]/g, ' ');
  return [`${gutter} | ${raw}`, `${' '.repeat(5)} | ${pad}^`];
}

export function formatText(diagnostics: readonly Diagnostic[], sources: Sources = new Map()): string {
  const out: string[] = [];
  for (const d of diagnostics) {
    const severity = d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warning' : 'info';
    out.push(`${location(d)} ${severity} ${d.code} ${d.message}${d.path ? `  (at ${d.path})` : ''}`);
    out.push(...excerpt(d, sources));
    if (d.hint) out.push(`      hint: ${d.hint}`);
  }
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
  out.push(`${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
  return out.join('\n') + '\n';
}

export function formatJson(diagnostics: readonly Diagnostic[]): string {
  return JSON.stringify({ diagnostics }, null, 2) + '\n';
}

/** GitHub Actions workflow commands: annotations inline on the pull request diff. */
export function formatGithub(diagnostics: readonly Diagnostic[]): string {
  const esc = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const escProp = (s: string) => esc(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  return (
    diagnostics
      .map((d) => {
        const level = d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warning' : 'notice';
        const props = [`file=${escProp(d.file)}`];
        if (d.line > 0) props.push(`line=${d.line}`, `col=${d.column}`);
        props.push(`title=${escProp(d.code)}`);
        return `::${level} ${props.join(',')}::${esc(d.message + (d.hint ? ` (${d.hint})` : ''))}`;
      })
      .join('\n') + (diagnostics.length ? '\n' : '')
  );
}

/** SARIF 2.1.0, for code-scanning upload. */
export function formatSarif(diagnostics: readonly Diagnostic[]): string {
  const used = [...new Set(diagnostics.map((d) => d.code))].sort();
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'pmgrants',
            rules: used.map((id) => ({ id, shortDescription: { text: RULES[id] } })),
          },
        },
        results: diagnostics.map((d) => ({
          ruleId: d.code,
          level: d.severity === 'info' ? 'note' : d.severity,
          message: { text: d.message + (d.hint ? ` (${d.hint})` : '') },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: d.file },
                ...(d.line > 0 ? { region: { startLine: d.line, startColumn: d.column } } : {}),
              },
            },
          ],
        })),
      },
    ],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}

export function formatDiagnostics(format: DiagnosticFormat, diagnostics: readonly Diagnostic[], sources?: Sources): string {
  switch (format) {
    case 'text':
      return formatText(diagnostics, sources);
    case 'json':
      return formatJson(diagnostics);
    case 'github':
      return formatGithub(diagnostics);
    case 'sarif':
      return formatSarif(diagnostics);
    default: {
      const never: never = format;
      throw new Error(`unknown diagnostic format ${String(never)}`);
    }
  }
}
