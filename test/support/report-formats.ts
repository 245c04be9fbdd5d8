/**
 * The access report's formats agree with its JSON: the CSV's rows (one per cell and path), the markdown
 * matrix (read back through the legend it prints) and the cells the HTML page embeds; and expiry
 * ("until <date>", "expired on <date>") is in every format.
 */
import { expect } from 'vitest';
import { AccessReport, ReportCell } from '../../provider/report/types';

type Report = Pick<AccessReport, 'principals' | 'apps' | 'cells'>;

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

