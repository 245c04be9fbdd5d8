import { Statement, StatementParam } from '../../model/statement';

/** One round trip: either a plain batch of parameterless statements, or one statement with its parameters. */
export interface Batch {
  target: Statement['target'];
  sql: string;
  /** Bound as sp_executesql parameters (mssql request.input + query); never spliced into sql. */
  params: StatementParam[];
  statements: Statement[];
}

export const MAX_STATEMENTS_PER_BATCH = 200;

/**
 * Statements -> batches, preserving order. Consecutive parameterless statements for the same target are
 * joined into one batch. A statement with parameters is its own request (its parameters are bound,
 * never inlined: mssql's batch() would inline them), and so is an ownBatch statement (CREATE SCHEMA,
 * CREATE LOGIN on Azure SQL).
 */
export function planBatches(statements: readonly Statement[], maxStatements: number = MAX_STATEMENTS_PER_BATCH): Batch[] {
  const batches: Batch[] = [];
  let open: Batch | undefined;
  for (const s of statements) {
    const alone = s.ownBatch === true || s.params.length > 0;
    if (alone) {
      open = undefined;
      batches.push({ target: s.target, sql: s.sql, params: s.params, statements: [s] });
      continue;
    }
    if (!open || open.target !== s.target || open.statements.length >= maxStatements) {
      open = { target: s.target, sql: s.sql, params: [], statements: [s] };
      batches.push(open);
      continue;
    }
    open.sql = `${open.sql}\n${s.sql}`;
    open.statements.push(s);
  }
  return batches;
}
