/**
 * A statement is data: what to run, where, with which bound parameters, and what a human may see.
 * `display` never contains a secret; a password is a parameter marked `secretFor`.
 */
export interface Statement {
  sql: string;
  params: StatementParam[];
  display: string;
  /** 'server': the server-level database (SQL Server master for logins); 'warehouse': the policy's database. */
  target: 'server' | 'warehouse';
  /** Must run alone (T-SQL: CREATE SCHEMA must be the only statement of its batch). */
  ownBatch?: boolean;
}

export type StatementParam = { name: string; value: string } | { name: string; secretFor: string };
