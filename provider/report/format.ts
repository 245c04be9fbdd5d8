import { Right } from '../model/types';
import { formatReportHtml } from './html';
import { hasLifetimes, lifetimeNote, RIGHT_LETTER, expiringLines, expiryLabel, reportFindings, reportHeadline, scopeLabel, temporaryAccess } from './labels';
import { AccessReport, CellStatus, ReportCell } from './types';

export { RIGHT_LETTER, STATUS_TEXT, expiryLabel, reportFindings, reportHeadline, scopeLabel } from './labels';
export type { Finding } from './labels';

/** Formatters are pure functions of the report, keyed by format name. */
export const REPORT_FORMATS = ['html', 'csv', 'json', 'markdown'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const REPORT_FORMATTERS: Record<ReportFormat, (report: AccessReport) => string> = {
  html: formatReportHtml,
  csv: formatReportCsv,
  json: (r) => `${JSON.stringify(r, null, 2)}\n`,
  markdown: formatReportMarkdown,
};

export function formatReport(format: ReportFormat, report: AccessReport): string {
  return REPORT_FORMATTERS[format](report);
}

/** A CSV field: quoted when needed; a leading = + - @ is defused so a spreadsheet never runs it as a formula. */
function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const CSV_COLUMNS = ['principal', 'origin', 'app', 'schema', 'right', 'status', 'path', 'via', 'path_detail', 'detail', 'objects', 'expiry'] as const;

/**
 * One row per principal, app, right and path (a missing right: one row without a path). `objects`: what
 * the path covers when not every object of the schema (objects, then columns); `expiry`: "until <date>"
 * or "expired on <date>".
 */
export function formatReportCsv(report: AccessReport): string {
  const origin = new Map(report.principals.map((p) => [p.name, p.origin]));
  const lines = [CSV_COLUMNS.join(',')];
  for (const c of report.cells) {
    const paths = c.paths.length ? c.paths : [undefined];
    for (const p of paths) {
      lines.push(
        [c.principal, origin.get(c.principal) ?? '', c.app, c.schema, c.right, c.status, p?.kind ?? '', p?.via.join(' > ') ?? '', p?.detail ?? '', c.detail ?? '', p ? scopeLabel(p) : scopeLabel(c), expiryLabel(c)]
          .map(csvField)
          .join(','),
      );
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

const STATUS_MARK: Record<CellStatus, string> = { expected: '✅', drift: '🟥', missing: '🟧', privileged: '🟪', inherent: '⬜' };

function mdEscape(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/([`*<>[\]])/g, '\\$1').replace(/\r?\n/g, ' ');
}

/** The cells of one principal on one app, grouped by status: "✅ SIUD · 🟥 C". */
export function cellSummary(cells: readonly ReportCell[], mark: (s: CellStatus) => string): string {
  const by = new Map<CellStatus, string>();
  for (const c of cells) by.set(c.status, (by.get(c.status) ?? '') + RIGHT_LETTER[c.right]);
  // Personal data read through a companion schema: "✅ S · personal data masked".
  const visibility = [...new Set(cells.flatMap((c) => (c.personalData ? [c.personalData.visibility] : [])))];
  return [
    ...(['expected', 'drift', 'missing', 'privileged', 'inherent'] as CellStatus[]).filter((s) => by.has(s)).map((s) => `${mark(s)} ${by.get(s)}`),
    ...visibility.map((v) => `personal data ${v}`),
  ].join(' · ');
}

/** For a pull request or a ticket: identity, summary, the matrix, then every finding with its path. */
export function formatReportMarkdown(report: AccessReport): string {
  const out: string[] = [];
  out.push(`## Access review: ${mdEscape(report.database.database)}`, '');
  out.push(`| | |`, `|---|---|`);
  out.push(`| Database | ${mdEscape(report.database.database)} on ${mdEscape(report.database.server)} (${mdEscape(report.database.version)}${report.database.id ? `, ${mdEscape(report.database.id)}` : ''}) |`);
  if (report.asOf) out.push(`| As of | ${mdEscape(report.asOf)} |`);
  out.push(`| Generated | ${report.generatedAt} |`);
  out.push(`| Catalog digest | \`${report.catalogDigest}\` |`);
  out.push(`| Policy | ${report.policy.file ? mdEscape(report.policy.file) : '(unnamed)'}, mode ${report.policy.mode}, prefix \`${report.policy.prefix}\` |`, '');
  out.push(`**${reportHeadline(report)}**${report.summary.overdueLogins.length ? `; rotation overdue: ${report.summary.overdueLogins.map(mdEscape).join(', ')}` : ''}`, '');
  const ending = expiringLines(report);
  if (ending.length) out.push(`Grants ending soon: ${ending.map(mdEscape).join('; ')}.`, '');
  out.push(
    `Legend: ${(Object.keys(STATUS_MARK) as CellStatus[]).map((s) => `${STATUS_MARK[s]} ${s}`).join(', ')}. Rights: ${(Object.entries(RIGHT_LETTER) as [Right, string][]).map(([r, l]) => `${l} ${r}`).join(', ')}.`,
    '',
  );
  out.push(`| Principal | ${report.apps.map((a) => `${mdEscape(a.key)} (${mdEscape(a.schema)})`).join(' | ')} |`);
  out.push(`|---|${report.apps.map(() => '---').join('|')}|`);
  for (const p of report.principals) {
    const row = report.apps.map((a) => cellSummary(report.cells.filter((c) => c.principal === p.name && c.app === a.key), (s) => STATUS_MARK[s]) || '—');
    out.push(`| ${mdEscape(p.name)} (${p.origin}) | ${row.join(' | ')} |`);
  }
  const findings = reportFindings(report);
  out.push('', `### Findings (${findings.length})`, '');
  if (findings.length === 0) out.push('None: the database grants exactly what the policy says.');
  else {
    out.push('| Status | Principal | App | Right | Path |', '|---|---|---|---|---|');
    for (const f of findings) out.push(`| ${STATUS_MARK[f.status]} ${f.status} | ${mdEscape(f.principal)} | ${mdEscape(f.app)} | ${f.right} | ${mdEscape(f.path)} |`);
  }
  const temporary = temporaryAccess(report);
  if (temporary.length) {
    out.push('', `### Temporary access (${temporary.length})`, '', '| Principal | App | Rights | Expiry |', '|---|---|---|---|');
    for (const t of temporary) out.push(`| ${mdEscape(t.principal)} | ${mdEscape(t.app)} | ${STATUS_MARK[t.status]} ${t.rights} | ${t.expiry} |`);
  }
  if (report.logins.length) {
    const lifetimes = hasLifetimes(report);
    out.push('', '### Generated logins', '', `| Login | App | Password set | Age (days) | Rotation |${lifetimes ? ' Valid until |' : ''}`, `|---|---|---|---|---|${lifetimes ? '---|' : ''}`);
    for (const l of report.logins) {
      const rotation = l.overdue === null ? (l.maxAgeDays === null ? 'no rotation policy' : 'unknown age') : l.overdue ? `**overdue** (max ${l.maxAgeDays})` : `ok (max ${l.maxAgeDays})`;
      const valid = lifetimes ? ` ${l.expired ? `**expired** ${l.validUntil}` : (l.validUntil ?? 'no end')} |` : '';
      out.push(`| ${mdEscape(l.login)} | ${l.app ? mdEscape(l.app) : 'all'} | ${l.passwordSetAt ?? 'unknown'} | ${l.ageDays ?? '—'} | ${rotation} |${valid}`);
    }
    if (lifetimes && report.engine !== 'postgres') out.push('', lifetimeNote(report));
  }
  if (report.protected) {
    out.push('', `### Protected roles (${report.protected.length})`, '');
    if (report.protected.length === 0) out.push('None of the protected roles exists in the database.');
    else {
      out.push('| Role | Entry | Members |', '|---|---|---|');
      for (const r of report.protected) {
        const members = r.members.map((m) => (m.named ? mdEscape(m.name) : `**${mdEscape(m.name)} (not named by the policy)**`)).join(', ') || 'none';
        out.push(`| ${mdEscape(r.role)} | protected[${r.entry}] | ${members} |`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}
