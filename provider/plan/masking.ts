import { columnMask, LiveRelation, MaskedView, MASKED_VIEW_MARKER, maskedViewComment, maskingNames } from '../model/masking';
import { ActualState, DesiredState } from '../model/types';
import { Change } from './change';

/**
 * Personal data: the views the companion schemas need for the app schemas' live tables, against the
 * views they have. Pure. A base table without its view ('create-masked-view', "new table ...: 2
 * personal columns to mask") is drift like a missing grant: masked personas hold nothing on the app
 * schema, so until the apply makes the view they cannot read the table at all (fail closed). A view
 * whose comment (its fingerprint) differs from what the policy and the table's columns want is
 * replaced; a pmgrants view whose table is gone is dropped. Only the companion schemas of the desired
 * state (a Pulumi part: its own app's) are compared; without the live relations (an offline plan)
 * only the key is planned.
 */
export function diffMasking(desired: DesiredState, actual: ActualState): { changes: Change[]; warnings: string[] } {
  const m = desired.masking;
  const live = actual.masking;
  const changes: Change[] = [];
  const warnings: string[] = [];
  if (!m) return { changes, warnings };
  const bySchema = new Map<string, LiveRelation[]>();
  for (const r of live?.relations ?? []) {
    const list = bySchema.get(r.schema);
    if (list) list.push(r);
    else bySchema.set(r.schema, [r]);
  }
  // The key: made by the part that holds the masking owner (the warehouse's).
  if (desired.roles.some((r) => r.name === m.owner) && !(bySchema.get(m.keySchema) ?? []).some((r) => r.name === maskingNames.keyTable && r.kind === 'r')) {
    changes.push({ kind: 'create-masking-key', schema: m.keySchema, owner: m.owner });
  }
  // Without the live relations (an offline plan against an empty database) there is no table to mask yet.
  if (!live) return { changes, warnings };
  const companions = new Set(desired.schemas.filter((s) => s.purpose === 'masked-views').map((s) => s.name));
  for (const app of m.apps) {
    const base = bySchema.get(app.schema) ?? [];
    for (const companion of app.companions) {
      if (!companions.has(companion.schema)) continue;
      const views = new Map((bySchema.get(companion.schema) ?? []).map((r) => [r.name, r]));
      for (const table of base) {
        const columns: MaskedView['columns'] = [];
        const hidden: string[] = [];
        for (const column of table.columns) {
          const mask = columnMask(app.rules, table.name, column);
          if (mask && companion.visibility === 'hidden') hidden.push(column);
          else columns.push(mask ? { name: column, mask } : { name: column });
        }
        const view: MaskedView = {
          app: app.app,
          schema: companion.schema,
          name: table.name,
          visibility: companion.visibility,
          source: { schema: app.schema, name: table.name },
          columns,
          hidden,
          owner: m.owner,
          readers: companion.readers,
          keySchema: m.keySchema,
        };
        const have = views.get(table.name);
        views.delete(table.name);
        if (!have) changes.push({ kind: 'create-masked-view', view });
        else if (have.comment !== maskedViewComment(view)) changes.push({ kind: 'replace-masked-view', view });
      }
      for (const stale of views.values()) {
        if (stale.kind === 'v' && stale.comment?.startsWith(MASKED_VIEW_MARKER)) changes.push({ kind: 'drop-masked-view', schema: companion.schema, name: stale.name, app: app.app });
        else warnings.push(`${companion.schema}.${stale.name} is in a companion schema of masked views but pmgrants did not make it: left as it is (its readers can read it)`);
      }
    }
  }
  return { changes, warnings };
}
