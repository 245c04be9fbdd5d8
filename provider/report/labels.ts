import { Right } from '../model/types';
import { ColumnAccess } from '../model/access';
import { AccessReport, CellStatus, ReportCell } from './types';

/** One letter per right, for the compact matrix cells (legend in every format that uses them). */
export const RIGHT_LETTER: Record<Right, string> = {
  select: 'S',
  insert: 'I',
  update: 'U',
  delete: 'D',
  execute: 'X',
  references: 'R',
  'view-definition': 'V',
  alter: 'A',
  'create-objects': 'C',
};

export const STATUS_TEXT: Record<CellStatus, string> = {
  expected: 'expected (the policy grants it, and the database has it)',
  drift: 'drift (the database grants it, the policy does not)',
  missing: 'missing (the policy grants it, the database does not, or only in part)',
  privileged: 'privileged (only through a superuser, sysadmin, dbo or db_owner-like bypass, or the provisioning login\'s administration)',
  inherent: 'inherent (the engine gives it to every role)',
};

/** "until 2027-06-30", "expired on 2026-12-06", or '' for a cell of a grant without an end. */
export function expiryLabel(cell: Pick<ReportCell, 'expires' | 'expired'>): string {
  return cell.expired !== undefined ? `expired on ${cell.expired}` : cell.expires !== undefined ? `until ${cell.expires}` : '';
}

/** What part of a schema a cell or path covers: '' for every object, else "cases, vendors; columns staff.id, staff.name". */
export function scopeLabel(scope: { objects?: string[]; columns?: ColumnAccess[]; except?: string[] }): string {
  if (scope.except) return `all but ${scope.except.join(', ')}`;
  if (scope.objects === undefined) return '';
  const columns = (scope.columns ?? []).map((c) => `${c.object}.${c.column}${c.visibility && c.visibility !== 'clear' ? ` (${c.visibility})` : ''}`);
  return [...(scope.objects.length ? [scope.objects.join(', ')] : []), ...(columns.length ? [`columns ${columns.join(', ')}`] : [])].join('; ') || 'nothing';
}

/** The summary's list of grants ending soon, one sentence each: "auditors (data_consumer on o2c) until 2026-12-17, in 11 days". */
export function expiringLines(report: AccessReport): string[] {
  return report.summary.expiringGrants.map((g) => `${g.principal} (${g.persona} on ${g.apps.join(', ')}) until ${g.expires}, in ${g.daysLeft} day${g.daysLeft === 1 ? '' : 's'}`);
}

/** Cells of temporary access (an expiring grant, or one that expired and is still there), grouped by principal, app and expiry. */
export function temporaryAccess(report: AccessReport): { principal: string; app: string; rights: string; expiry: string; status: CellStatus }[] {
  const out = new Map<string, { principal: string; app: string; rights: string; expiry: string; status: CellStatus }>();
  for (const c of report.cells) {
    const expiry = expiryLabel(c);
    if (!expiry) continue;
    const k = `${c.principal}\u0000${c.app}\u0000${expiry}`;
    const row = out.get(k) ?? { principal: c.principal, app: c.app, rights: '', expiry, status: c.status };
    row.rights += RIGHT_LETTER[c.right];
    out.set(k, row);
  }
  return [...out.values()];
}

export function reportHeadline(report: AccessReport): string {
  const s = report.summary.cells;
  return `${report.summary.principals} principals × ${report.summary.apps} apps: ${s.expected} expected, ${s.drift} drift, ${s.missing} missing, ${s.privileged} privileged`;
}


export interface Finding {
  status: CellStatus;
  principal: string;
  app: string;
  right: string;
  path: string;
}

/**
 * What a reviewer must look at: every drift and missing cell with its path; privileged access one line
 * per principal and path (a superuser holds every right on every app, which 9 x apps rows would bury).
 */
export function reportFindings(report: AccessReport): Finding[] {
  const out: Finding[] = [];
  // principal + path -> app -> rights
  const privileged = new Map<string, Map<string, Set<string>>>();
  for (const c of report.cells) {
    if (c.status === 'drift' || c.status === 'missing') {
      out.push({ status: c.status, principal: c.principal, app: c.app, right: c.right, path: c.paths.map((p) => p.detail).join('; ') || c.detail || '' });
    } else if (c.status === 'privileged') {
      const k = `${c.principal}\u0000${c.paths.map((p) => p.detail).join('; ')}`;
      const byApp = privileged.get(k) ?? new Map<string, Set<string>>();
      byApp.set(c.app, (byApp.get(c.app) ?? new Set<string>()).add(c.right));
      privileged.set(k, byApp);
    }
  }
  for (const [k, byApp] of privileged) {
    const [principal, path] = k.split('\u0000');
    // Apps with the same rights share one line.
    const bySet = new Map<string, string[]>();
    for (const [app, rights] of byApp) {
      const set = rights.size === report.rights.length ? 'every right' : report.rights.filter((r) => rights.has(r)).join(', ');
      bySet.set(set, [...(bySet.get(set) ?? []), app]);
    }
    for (const [right, apps] of bySet) {
      out.push({ status: 'privileged', principal, app: apps.length === report.apps.length ? 'every app' : apps.join(', '), right, path });
    }
  }
  return out;
}

/** Whether the logins table shows validity: some password has an end (VALID UNTIL, or security.rotation.validFor). */
export function hasLifetimes(report: AccessReport): boolean {
  return report.logins.some((l) => l.validUntil !== null);
}

/** Under the logins table of an engine without expiry times: what "valid until" means there. */
export function lifetimeNote(report: AccessReport): string {
  return `${report.engine} does not expire a login's password by itself: "valid until" is the policy's lifetime (security.rotation.validFor) from when it was set, and the password works until pmgrants replaces it, at the first apply or checkout after that time.`;
}
