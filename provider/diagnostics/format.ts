import { countOf, Diagnostic, RULES } from './diagnostic';
import { counted, printable } from './printable';
import { pushAll } from '../model/collections';

/** Formatters are pure: (diagnostics, sources) -> text. The CLI picks one by name. */
export type DiagnosticFormat = 'text' | 'json' | 'github' | 'sarif';
export const DIAGNOSTIC_FORMATS: DiagnosticFormat[] = ['text', 'json', 'github', 'sarif'];

/** File contents by file name, so the text format can show a caret excerpt. */
export type Sources = ReadonlyMap<string, string>;

function location(d: Diagnostic): string {
  return printable(d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file);
}

/** Offsets where each line of a text starts: found once per file, not once per diagnostic. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** The caret excerpt of a diagnostic; `lines` caches each file's line starts across diagnostics. */
function excerpt(d: Diagnostic, sources: Sources, lines: Map<string, number[]>): string[] {
  const text = sources.get(d.file);
  if (text === undefined || d.line <= 0) return [];
  let starts = lines.get(d.file);
  if (!starts) lines.set(d.file, (starts = lineStarts(text)));
  if (d.line > starts.length) return [];
  const start = starts[d.line - 1];
  const end = d.line < starts.length ? starts[d.line] - 1 : text.length;
  const raw = text.slice(start, end).replace(/\r$/, '');
  if (raw.length > 200) return [];
  const gutter = String(d.line).padStart(5);
  const pad = ' '.repeat(printable(raw.slice(0, Math.max(0, d.column - 1))).length);
  return [`${gutter} | ${printable(raw)}`, `${' '.repeat(5)} | ${pad}^`];
}

export function formatText(diagnostics: readonly Diagnostic[], sources: Sources = new Map()): string {
  const out: string[] = [];
  const lines = new Map<string, number[]>();
  for (const d of diagnostics) {
    const severity = d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warning' : 'info';
    // Messages quote names from the policy: printed escaped, so no name can add a line or a terminal escape.
    out.push(`${location(d)} ${severity} ${d.code} ${printable(d.message)}${d.path ? `  (at ${printable(d.path)})` : ''}`);
    pushAll(out, excerpt(d, sources, lines));
    if (d.hint) out.push(`      hint: ${printable(d.hint)}`);
  }
  const errors = countOf(diagnostics, 'error');
  const warnings = countOf(diagnostics, 'warning');
  out.push(`${counted(errors, 'error')}, ${counted(warnings, 'warning')}`);
  return out.join('\n') + '\n';
}

export function formatJson(diagnostics: readonly Diagnostic[]): string {
  return JSON.stringify({ diagnostics }, null, 2) + '\n';
}

/** GitHub Actions workflow commands: annotations inline on the pull request diff. */
export function formatGithub(diagnostics: readonly Diagnostic[]): string {
  const esc = (s: string) => printable(s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A'));
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
