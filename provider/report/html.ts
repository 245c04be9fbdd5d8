import { createHash } from 'node:crypto';
import { Right } from '../model/types';
import { hasLifetimes, lifetimeNote, RIGHT_LETTER, STATUS_TEXT, expiringLines, expiryLabel, reportFindings, reportHeadline, scopeLabel, temporaryAccess } from './labels';
import { AccessReport, CellStatus } from './types';

/**
 * The access report as ONE self-contained HTML file: no external resource of any kind, and a Content
 * Security Policy (default-src 'none', the inline style and script allowed by their SHA-256 only) that
 * makes the browser refuse any request the page could try. Summary first, then the principal × app
 * matrix (a chip per right, coloured by status; its paths on hover, and in the side panel on click),
 * filters, the findings with their paths, the generated logins. Prints to PDF without the controls.
 */

const STYLE = `
:root{--expected:#1a7f37;--expected-bg:#dafbe1;--drift:#cf222e;--drift-bg:#ffebe9;--missing:#9a6700;--missing-bg:#fff8c5;--privileged:#8250df;--privileged-bg:#fbefff;--inherent:#57606a;--inherent-bg:#eaeef2;--line:#d0d7de;--muted:#57606a}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:0;padding:24px 28px;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}.muted{color:var(--muted)}
table.id{border-collapse:collapse;margin:8px 0 16px}table.id th{text-align:left;color:var(--muted);font-weight:500;padding:1px 16px 1px 0}table.id td{padding:1px 0}code{font-size:12px}
.cards{display:flex;gap:10px;flex-wrap:wrap;margin:12px 0}.card{border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:120px}.card b{display:block;font-size:22px}
.card.expected b{color:var(--expected)}.card.drift b{color:var(--drift)}.card.missing b{color:var(--missing)}.card.privileged b{color:var(--privileged)}.card.inherent b{color:var(--inherent)}
.filters{display:flex;gap:14px;flex-wrap:wrap;align-items:center;padding:8px 0;border-top:1px solid var(--line);border-bottom:1px solid var(--line);margin:12px 0}
.filters label{white-space:nowrap}.filters input[type=search]{padding:3px 6px;border:1px solid var(--line);border-radius:6px}
.wrap{display:flex;gap:16px;align-items:flex-start}.matrix-box{overflow-x:auto;flex:1}
table.matrix{border-collapse:collapse}table.matrix th,table.matrix td{border:1px solid var(--line);padding:4px 6px;vertical-align:top}
table.matrix thead th{background:#f6f8fa;font-weight:600;text-align:left}table.matrix th.who{text-align:left;font-weight:500;background:#fff;min-width:190px;max-width:280px}
.origin{font-size:11px;color:var(--muted);display:block}td.cell{white-space:nowrap}
.chip{display:inline-block;min-width:20px;margin:1px;padding:1px 4px;border-radius:4px;border:1px solid;font:600 12px/16px ui-monospace,Menlo,Consolas,monospace;text-align:center;cursor:pointer;background:none}
.chip.expected{color:var(--expected);background:var(--expected-bg);border-color:var(--expected)}.chip.drift{color:#fff;background:var(--drift);border-color:var(--drift)}
.chip.missing{color:var(--missing);background:var(--missing-bg);border-color:var(--missing);border-style:dashed}.chip.privileged{color:var(--privileged);background:var(--privileged-bg);border-color:var(--privileged)}
.chip.inherent{color:var(--inherent);background:var(--inherent-bg);border-color:var(--line)}.chip.sel{outline:2px solid #0969da}
.hidden{display:none!important}#panel{width:360px;border:1px solid var(--line);border-radius:8px;padding:10px 12px;position:sticky;top:12px;font-size:13px}
#panel h3{margin:0 0 6px;font-size:14px}#panel ol{padding-left:18px;margin:6px 0}
table.list{border-collapse:collapse;width:100%}table.list th,table.list td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}table.list th{background:#f6f8fa}
.st{font-weight:600}.st.expected{color:var(--expected)}.st.drift{color:var(--drift)}.st.missing{color:var(--missing)}.st.privileged{color:var(--privileged)}.st.inherent{color:var(--inherent)}
.legend>span{margin-right:14px;white-space:nowrap;display:inline-block}.swatch{display:inline-block;width:11px;height:11px;border-radius:3px;border:1px solid;vertical-align:-1px}
.swatch.expected{background:var(--expected-bg);border-color:var(--expected)}.swatch.drift{background:var(--drift);border-color:var(--drift)}.swatch.missing{background:var(--missing-bg);border-color:var(--missing);border-style:dashed}.swatch.privileged{background:var(--privileged-bg);border-color:var(--privileged)}.swatch.inherent{background:var(--inherent-bg);border-color:var(--line)}
@media print{body{padding:0;max-width:none;font-size:11px}.filters,#panel{display:none}.wrap{display:block}.matrix-box{overflow:visible}td.cell{white-space:normal}table.matrix th.who{min-width:0;max-width:200px}.chip{min-width:14px;padding:0 2px;font-size:10px;line-height:13px}.chip{cursor:default;-webkit-print-color-adjust:exact;print-color-adjust:exact}.card,.chip,.st,.swatch{-webkit-print-color-adjust:exact;print-color-adjust:exact}tr{break-inside:avoid}h2{break-after:avoid}}
`;

const SCRIPT = `(function(){
var cells=JSON.parse(document.getElementById('cells').textContent);
var panel=document.getElementById('panel');
function esc(s){return String(s).replace(/[&<>"']/g,function(c){return{'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c];});}
function apply(){
  var on={};document.querySelectorAll('input[data-status]').forEach(function(b){on[b.getAttribute('data-status')]=b.checked;});
  var right=document.getElementById('f-right').value;var q=document.getElementById('f-who').value.toLowerCase();
  document.querySelectorAll('.chip').forEach(function(c){c.classList.toggle('hidden',!on[c.getAttribute('data-status')]||(right!==''&&c.getAttribute('data-right')!==right));});
  document.querySelectorAll('tr[data-principal]').forEach(function(r){
    var visible=r.querySelectorAll('.chip:not(.hidden)').length>0||document.getElementById('f-empty').checked;
    r.classList.toggle('hidden',!visible||(q!==''&&r.getAttribute('data-principal').toLowerCase().indexOf(q)<0));});
}
document.querySelectorAll('.filters input,.filters select').forEach(function(e){e.addEventListener('input',apply);e.addEventListener('change',apply);});
document.querySelectorAll('.chip').forEach(function(b){b.addEventListener('click',function(){
  try{history.replaceState(null,'','#show='+b.getAttribute('data-i'));}catch(e){}
  document.querySelectorAll('.chip.sel').forEach(function(x){x.classList.remove('sel');});b.classList.add('sel');
  var c=cells[Number(b.getAttribute('data-i'))];
  var scope=c.objects?(c.objects.length?'<p>Objects: '+esc(c.objects.join(', '))+'</p>':'')+(c.columns?'<p>Columns: '+esc(c.columns.map(function(x){return x.object+'.'+x.column+(x.visibility&&x.visibility!=='clear'?' ('+x.visibility+')':'');}).join(', '))+'</p>':''):'';
  var when=c.expired?'<p><b>expired on '+esc(c.expired)+'</b></p>':c.expires?'<p>until '+esc(c.expires)+'</p>':'';
  panel.innerHTML='<h3>'+esc(c.principal)+' · '+esc(c.app)+' · '+esc(c.right)+'</h3><div class="st '+c.status+'">'+esc(c.status)+(c.through?' through '+esc(c.through):'')+'</div>'+when+(c.detail?'<p>'+esc(c.detail)+'</p>':'')+scope+
    (c.paths.length?'<ol>'+c.paths.map(function(p){return '<li><b>'+esc(p.kind)+'</b>: '+esc(p.detail)+'</li>';}).join('')+'</ol>':'<p class="muted">No path: the database does not grant it.</p>');
});});
apply();
var m=/^#show=([0-9]+)$/.exec(location.hash);var linked=m&&document.getElementById('cell-'+m[1]);if(linked)linked.click();
document.body.setAttribute('data-ready','1');
})();`;

const csp = (kind: string, text: string) => `${kind} 'sha256-${createHash('sha256').update(text).digest('base64')}'`;
/** The page's Content-Security-Policy: nothing may load; only this file's own style and script run. */
export const REPORT_CSP = `default-src 'none'; ${csp('style-src', STYLE)}; ${csp('script-src', SCRIPT)}; img-src 'none'; base-uri 'none'; form-action 'none'`;

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STATUSES: CellStatus[] = ['expected', 'drift', 'missing', 'privileged', 'inherent'];

export function formatReportHtml(report: AccessReport): string {
  const s = report.summary.cells;
  const title = `Access review: ${report.database.database}`;
  const idRows: [string, string][] = [
    ['Database', `${report.database.database} on ${report.database.server}`],
    ['Engine', `${report.database.version}${report.database.id ? ` (${report.database.id})` : ''}`],
    ...(report.asOf ? [['As of', report.asOf] as [string, string]] : []),
    ['Generated', report.generatedAt],
    ['Catalog digest', report.catalogDigest],
    ['Policy', `${report.policy.file ?? '(unnamed)'}: mode ${report.policy.mode}, prefix ${report.policy.prefix}`],
  ];
  const indexOf = new Map(report.cells.map((c, i) => [c, i]));
  const rows = report.principals.map((p) => {
    const tds = report.apps.map((a) => {
      const here = report.cells.filter((c) => c.principal === p.name && c.app === a.key);
      const chips = here
        .map((c) => {
          const tip = `${c.right}: ${c.status}${expiryLabel(c) ? ` (${expiryLabel(c)})` : ''}${scopeLabel(c) ? ` [${scopeLabel(c)}]` : ''}${c.detail ? ` — ${c.detail}` : ''}${c.paths.map((x) => `\n• ${x.detail}`).join('')}`;
          return `<button type="button" class="chip ${c.status}" id="cell-${indexOf.get(c)}" data-i="${indexOf.get(c)}" data-status="${c.status}" data-right="${c.right}" title="${esc(tip)}">${RIGHT_LETTER[c.right]}</button>`;
        })
        .join('');
      return `<td class="cell" data-app="${esc(a.key)}">${chips}</td>`;
    });
    const notes = p.notes.length ? ` title="${esc(p.notes.join('; '))}"` : '';
    return `<tr data-principal="${esc(p.name)}"><th class="who" scope="row"${notes}>${esc(p.name)}<span class="origin">${esc(p.origin)}${p.policyKey && p.policyKey !== p.name ? ` · ${esc(p.policyKey)}` : ''}${p.notes.length ? ` · ${esc(p.notes[0])}` : ''}</span></th>${tds.join('')}</tr>`;
  });
  const findings = reportFindings(report);
  const findingRows = findings.map(
    (f) => `<tr><td class="st ${f.status}">${f.status}</td><td>${esc(f.principal)}</td><td>${esc(f.app)}</td><td>${esc(f.right)}</td><td>${esc(f.path)}</td></tr>`,
  );
  const lifetimes = hasLifetimes(report);
  const loginRows = report.logins.map((l) => {
    const rotation = l.overdue === null ? (l.maxAgeDays === null ? 'no rotation policy' : 'age unknown') : l.overdue ? `overdue (max ${l.maxAgeDays} days)` : `ok (max ${l.maxAgeDays} days)`;
    const valid = lifetimes ? `<td class="st ${l.expired ? 'drift' : 'expected'}">${l.expired ? 'expired ' : ''}${esc(l.validUntil ?? 'no end')}</td>` : '';
    return `<tr><td>${esc(l.login)}</td><td>${esc(l.app ?? 'all apps')}</td><td>${esc(l.passwordSetAt ?? 'unknown')}</td><td>${l.ageDays ?? '—'}</td><td class="st ${l.overdue ? 'drift' : 'expected'}">${rotation}</td>${valid}</tr>`;
  });
  const protectedRows = (report.protected ?? []).map(
    (r) =>
      `<tr><td>${esc(r.role)}</td><td>protected[${r.entry}]</td><td>${r.members.map((m) => (m.named ? esc(m.name) : `<span class="st drift">${esc(m.name)} (not named by the policy)</span>`)).join(', ') || 'none'}</td></tr>`,
  );
  // Cells as JSON for the click panel; "<" escaped so no string can close the script element.
  const cellsJson = JSON.stringify(report.cells).replace(/</g, '\\u003c');
  const temporaryRows = temporaryAccess(report).map((t) => `<tr><td>${esc(t.principal)}</td><td>${esc(t.app)}</td><td class="st ${t.status}">${esc(t.rights)}</td><td>${esc(t.expiry)}</td></tr>`);
  const ending = expiringLines(report);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="pmgrants-catalog-digest" content="${report.catalogDigest}">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(title)}</h1>
<div class="muted">Effective access read from the database itself, compared with the policy. Generated by pmgrants report.</div>
<table class="id">${idRows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${k === 'Catalog digest' ? `<code>${esc(v)}</code>` : esc(v)}</td></tr>`).join('')}</table>
<h2>Summary</h2>
<p><b>${esc(reportHeadline(report))}</b>.</p>
<div class="cards">${STATUSES.map((st) => `<div class="card ${st}"><b>${s[st]}</b>${st}</div>`).join('')}<div class="card"><b>${report.summary.overdueLogins.length}</b>rotation overdue</div></div>
<p>${report.summary.principalsWithDrift.length ? `Drift on: ${report.summary.principalsWithDrift.map(esc).join(', ')}.` : 'No drift: the database grants nothing the policy does not.'}${report.summary.overdueLogins.length ? ` Passwords overdue for rotation: ${report.summary.overdueLogins.map(esc).join(', ')}.` : ''}</p>
${ending.length ? `<p>Grants ending soon: ${ending.map(esc).join('; ')}.</p>` : ''}
<div class="legend muted">${STATUSES.map((st) => `<span><span class="swatch ${st}"></span> ${esc(STATUS_TEXT[st])}</span>`).join(' ')}<br>${(Object.entries(RIGHT_LETTER) as [Right, string][]).map(([r, l]) => `<span><b>${l}</b> ${r}</span>`).join(' ')}</div>
<h2>Who can do what</h2>
<div class="filters">${STATUSES.map((st) => `<label><input type="checkbox" data-status="${st}" checked> ${st}</label>`).join('')}
<label>right <select id="f-right"><option value="">all</option>${report.rights.map((r) => `<option value="${r}">${r}</option>`).join('')}</select></label>
<label>principal <input type="search" id="f-who" placeholder="filter by name"></label>
<label><input type="checkbox" id="f-empty" checked> rows with nothing shown</label></div>
<div class="wrap"><div class="matrix-box">
<table class="matrix"><thead><tr><th>principal</th>${report.apps.map((a) => `<th scope="col">${esc(a.key)}<span class="origin">schema ${esc(a.schema)} · ${esc(a.source)}${a.present ? '' : ' · missing'}</span></th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>
<aside id="panel"><h3>Paths</h3><p class="muted">Click a right to see through which grants, memberships or ownership the principal holds it (hovering shows the same; the address then links to it).</p></aside></div>
<h2>Findings (${findings.length})</h2>
${findings.length ? `<table class="list"><thead><tr><th>status</th><th>principal</th><th>app</th><th>right</th><th>path</th></tr></thead><tbody>${findingRows.join('')}</tbody></table>` : '<p>None: the database grants exactly what the policy says.</p>'}
${temporaryRows.length ? `<h2>Temporary access (${temporaryRows.length})</h2><table class="list"><thead><tr><th>principal</th><th>app</th><th>rights</th><th>expiry</th></tr></thead><tbody>${temporaryRows.join('')}</tbody></table>` : ''}
${report.logins.length ? `<h2>Generated logins</h2><table class="list"><thead><tr><th>login</th><th>app</th><th>password set</th><th>age (days)</th><th>rotation</th>${lifetimes ? '<th>valid until</th>' : ''}</tr></thead><tbody>${loginRows.join('')}</tbody></table>${lifetimes && report.engine !== 'postgres' ? `<p class="muted">${esc(lifetimeNote(report))}</p>` : ''}` : ''}
${report.protected ? `<h2>Protected roles (${report.protected.length})</h2>${report.protected.length ? `<table class="list"><thead><tr><th>role</th><th>entry</th><th>members</th></tr></thead><tbody>${protectedRows.join('')}</tbody></table>` : '<p>None of the protected roles exists in the database.</p>'}` : ''}
<script type="application/json" id="cells">${cellsJson}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
