/**
 * The access report's formats agree with its JSON: the CSV's rows (one per cell and path), the markdown
 * matrix (read back through the legend it prints) and the cells the HTML page embeds; expiry ("until
 * <date>", "expired on <date>") is in every format; and the markdown and HTML tables of generated logins
 * (with each password's validity) and of protected roles (each member named or not) say what the JSON's
 * `logins` and `protected` say. The CSV is the matrix only: one row per cell and path, as documented
 * (docs/report.md); logins and protected roles are not cells.
 */
import { expect } from 'vitest';
import { AccessReport, ReportCell } from '../../provider/report/types';

type Report = Pick<AccessReport, 'principals' | 'apps' | 'cells' | 'logins' | 'protected' | 'summary'>;

/** CSV rows, the markdown matrix and the HTML page's embedded cells say what the JSON says. */
export function expectFormatsAgree(report: Report, csv: string, md: string, html: string): void {
  // CSV: one row per cell and path; the fields by header name.
  const [header, ...lines] = csv.trimEnd().split('\r\n').map(splitCsvLine);
  const col = (name: string) => {
    const i = header.indexOf(name);
    expect(i, `CSV column ${name}`).toBeGreaterThanOrEqual(0);
    return i;
  };
  const fromCsv = lines.map((r) => [r[col('principal')], r[col('app')], r[col('right')], r[col('status')], r[col('path')], r[col('via')], r[col('expiry')]].join('|')).sort();
  const fromJson = report.cells
    .flatMap((c) => (c.paths.length ? c.paths : [undefined]).map((p) => [c.principal, c.app, c.right, c.status, p?.kind ?? '', p?.via.join(' > ') ?? '', expiryText(c)].join('|')))
    .sort();
  expect(fromCsv).toEqual(fromJson);
  // Markdown: each principal's matrix row holds, per app, the letters of its cells grouped by status,
  // read back through the legend the page prints.
  const lines2 = md.split('\n');
  const legend = lines2.find((l) => l.startsWith('Legend: '))!;
  const statusOf = new Map([...legend.matchAll(/(\S+) (expected|drift|missing|privileged|inherent)\b/g)].map((m) => [m[1], m[2]]));
  const rightOf = new Map([...legend.matchAll(/\b([A-Z]) ([a-z-]+)\b/g)].map((m) => [m[1], m[2]]));
  expect(statusOf.size).toBe(5);
  expect(rightOf.size).toBe(9);
  const matrixStart = lines2.findIndex((l) => l.startsWith('| Principal |'));
  const fromMd: string[] = [];
  report.principals.forEach((p, i) => {
    const fields = lines2[matrixStart + 2 + i].split(/(?<!\\)\|/).slice(1, -1).map((f) => f.trim());
    expect(fields[0].replace(/\\(.)/g, '$1')).toBe(`${p.name} (${p.origin})`);
    report.apps.forEach((a, j) => {
      for (const group of fields[1 + j] === '—' ? [] : fields[1 + j].split(' · ')) {
        const [mark, letters] = group.split(' ');
        for (const l of letters) fromMd.push([p.name, a.key, rightOf.get(l), statusOf.get(mark)].join('|'));
      }
    });
  });
  expect(fromMd.sort()).toEqual(report.cells.map((c) => [c.principal, c.app, c.right, c.status].join('|')).sort());
  for (const c of report.cells.filter((x) => x.expires || x.expired)) {
    expect(lines2.some((l) => l.includes(c.principal) && l.includes(expiryText(c))), `markdown: ${c.principal} ${expiryText(c)}`).toBe(true);
  }
  // HTML: the cells it embeds are the JSON's.
  const embedded = /<script[^>]* id="cells"[^>]*>([\s\S]*?)<\/script>/.exec(html);
  expect(embedded).not.toBeNull();
  expect(JSON.parse(embedded![1])).toEqual(report.cells);
  expectSectionsAgree(report, md, html);
}

/** A password's validity as both pages show it, markup aside: "expired <time>", "<time>" or "no end". */
const validityText = (l: AccessReport['logins'][number]) => (l.expired ? `expired ${l.validUntil}` : (l.validUntil ?? 'no end'));
const memberText = (m: { name: string; named: boolean }) => (m.named ? m.name : `${m.name} (not named by the policy)`);

/** The logins and protected-roles tables of the markdown and the HTML, row by row, against the JSON. */
function expectSectionsAgree(report: Report, md: string, html: string): void {
  const lifetimes = report.logins.some((l) => l.validUntil !== null);
  const logins = report.logins.map((l) => [l.login, l.app ?? '', l.passwordSetAt ?? 'unknown', String(l.ageDays ?? '—'), ...(lifetimes ? [validityText(l)] : [])]);
  const mdLogins = markdownTable(md, '### Generated logins');
  const htmlLogins = htmlTable(html, '<h2>Generated logins</h2>');
  if (report.logins.length === 0) {
    expect(mdLogins).toBeUndefined();
    expect(htmlLogins).toBeUndefined();
  } else {
    // Login, app, password set, age, then (after the rotation column) valid until when some password has an end.
    const pick = (rows: string[][], all: string) => rows.map((r) => [r[0], r[1] === all ? '' : r[1], r[2], r[3], ...(lifetimes ? [r[5]] : [])]);
    expect(mdLogins!.header.includes('Valid until'), 'markdown: the valid-until column').toBe(lifetimes);
    expect(htmlLogins!.header.includes('valid until'), 'HTML: the valid-until column').toBe(lifetimes);
    expect(pick(mdLogins!.rows, 'all')).toEqual(logins);
    expect(pick(htmlLogins!.rows, 'all apps')).toEqual(logins);
  }
  expect(report.summary.expiredLogins ?? []).toEqual(report.logins.filter((l) => l.expired).map((l) => l.login));
  const unnamed = (report.protected ?? []).flatMap((r) => r.members.filter((m) => !m.named).map((m) => `${r.role}: ${m.name}`));
  expect(report.summary.unnamedProtectedMembers ?? []).toEqual(unnamed);
  const mdProtected = md.includes('### Protected roles (');
  const htmlProtected = html.includes('<h2>Protected roles (');
  expect([mdProtected, htmlProtected], 'a protected-roles section exactly when the JSON has one').toEqual([report.protected !== undefined, report.protected !== undefined]);
  if (!report.protected) return;
  expect(md).toContain(`### Protected roles (${report.protected.length})`);
  expect(html).toContain(`<h2>Protected roles (${report.protected.length})</h2>`);
  const roles = report.protected.map((r) => [r.role, `protected[${r.entry}]`, r.members.map(memberText).join(', ') || 'none']);
  for (const table of [markdownTable(md, '### Protected roles ('), htmlTable(html, '<h2>Protected roles (')]) {
    if (roles.length === 0) expect(table).toBeUndefined();
    else expect(table!.rows).toEqual(roles);
  }
}

/** The table under a markdown heading: its header cells and its rows, markup (`**`, escapes) removed. */
function markdownTable(md: string, heading: string): { header: string[]; rows: string[][] } | undefined {
  const lines = md.split('\n');
  const at = lines.findIndex((l) => l.startsWith(heading));
  if (at < 0) return undefined;
  const table: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (line.startsWith('|')) table.push(line);
    else if (table.length || line.trim() !== '') break;
  }
  if (table.length === 0) return undefined;
  const cells = (line: string) =>
    line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((f) => f.trim().replace(/\*\*/g, '').replace(/\\(.)/g, '$1'));
  return { header: cells(table[0]), rows: table.slice(2).map(cells) };
}

/** The table after an HTML heading: its header cells and its rows, as text (tags removed, entities read). */
function htmlTable(html: string, heading: string): { header: string[]; rows: string[][] } | undefined {
  const at = html.indexOf(heading);
  if (at < 0) return undefined;
  const rest = html.slice(at + heading.length);
  const table = /^[^<]*<\/h2>\s*(<table[\s\S]*?<\/table>)|^\s*(<table[\s\S]*?<\/table>)/.exec(rest);
  if (!table) return undefined;
  const text = (cell: string) =>
    cell
      .replace(/<[^>]*>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&');
  const rowsOf = (part: string) => [...part.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => [...r[1].matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => text(c[1])));
  const source = table[1] ?? table[2];
  const head = /<thead>([\s\S]*?)<\/thead>/.exec(source)?.[1] ?? '';
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(source)?.[1] ?? '';
  return { header: rowsOf(head)[0] ?? [], rows: rowsOf(body) };
}

export const expiryText = (c: Pick<ReportCell, 'expires' | 'expired'>) => (c.expired ? `expired on ${c.expired}` : c.expires ? `until ${c.expires}` : '');

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') out.push(field), (field = '');
    else field += ch;
  }
  out.push(field);
  return out.map((f) => (/^'[=+\-@]/.test(f) ? f.slice(1) : f));
}

