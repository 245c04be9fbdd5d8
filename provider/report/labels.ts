import { Right } from '../model/types';
import { AccessReport, CellStatus } from './types';

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
  privileged: 'privileged (only through a superuser, sysadmin, dbo or db_owner-like bypass)',
  inherent: 'inherent (the engine gives it to every role)',
};

export function reportHeadline(report: AccessReport): string {
  const s = report.summary.cells;
  return `${report.summary.principals} principals × ${report.summary.apps} apps: ${s.expected} expected, ${s.drift} drift, ${s.missing} missing, ${s.privileged} privileged`;
}

