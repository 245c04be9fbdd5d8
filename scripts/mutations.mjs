// The mutation check's list (scripts/mutation-check.mjs, docs/testing.md): each entry breaks one
// behaviour in the source, exactly where it lives, and names the test files that must then fail.
// `edits` are applied in order, each to the text its `search` finds exactly once (a search text that is
// no longer there makes the entry "stale": update it when the code moves). A replacement must still
// compile (a condition that is never true, `Math.random() < 0`, keeps TypeScript's narrowing). A
// mutation whose tests need the built CLI or dist/ (they spawn bin/pmgrants or drive Pulumi) is rebuilt
// before its tests run.

export const MUTATIONS = [
  {
    name: 'write-ahead-delivery',
    behaviour: 'every generated password is in the secrets file (fsynced) before the server sees it',
    edits: [
      {
        file: 'provider/engines/postgres/apply.ts',
        search: `    if (options.deliver && prepared.passwords.length > 0) {
      const validUntil = options.passwordLifetime?.validUntil?.toISOString();
      await options.deliver(prepared.passwords.map((p) => ({ login: p.login, password: p.password, generation: p.generation, ...(validUntil ? { validUntil } : {}) })));
    }
`,
        replace: '',
      },
      {
        file: 'provider/engines/postgres/apply.ts',
        search: `  return retryTransient(
`,
        replace: `  const result = await retryTransient(
`,
      },
      {
        file: 'provider/engines/postgres/apply.ts',
        search: `    options.patience,
    options.signal,
  );
}
`,
        replace: `    options.patience,
    options.signal,
  );
  if (options.deliver && prepared.passwords.length > 0) {
    const validUntil = options.passwordLifetime?.validUntil?.toISOString();
    await options.deliver(prepared.passwords.map((p) => ({ login: p.login, password: p.password, generation: p.generation, ...(validUntil ? { validUntil } : {}) })));
  }
  return result;
}
`,
      },
    ],
    tests: ['test/unit/postgres-deliver.test.ts', 'test/e2e/credentials-fault.e2e.test.ts'],
  },
  {
    name: 'write-ahead-delivery-sqlserver',
    behaviour: 'SQL Server: every generated password is delivered before the first round trip that uses it',
    edits: [
      {
        file: 'provider/engines/sqlserver/apply.ts',
        search: `  if (options.deliver && generated.size > 0) await options.deliver([...generated.values()].map((p) => (validUntil ? { ...p, validUntil } : p)));
`,
        replace: '',
      },
      {
        file: 'provider/engines/sqlserver/apply.ts',
        search: `  return { statements: statements.length, roundTrips: session.trips - startTrips, secrets: run!.secrets };
`,
        replace: `  if (options.deliver && generated.size > 0) await options.deliver([...generated.values()].map((p) => (validUntil ? { ...p, validUntil } : p)));
  return { statements: statements.length, roundTrips: session.trips - startTrips, secrets: run!.secrets };
`,
      },
    ],
    tests: ['test/unit/sqlserver-apply.test.ts'],
  },
  {
    name: 'signal-abort',
    behaviour: 'SIGTERM/SIGINT stop an apply after the current step (no further password trip starts)',
    edits: [{ file: 'provider/cli/commands/apply.ts', search: '    controller.abort();\n', replace: '' }],
    tests: ['test/e2e/credentials-fault.e2e.test.ts'],
  },
  {
    name: 'lingering-password-sessions',
    behaviour: "the next apply waits for a killed apply's password sessions before it reads the catalog",
    edits: [
      {
        file: 'provider/engines/postgres/passwords.ts',
        search: 'await c.query([...bound, ...(pinned ? sql : [passwordSessionLockSql, ...sql])].join',
        replace: 'await c.query([...bound, ...(pinned ? sql : sql)].join',
      },
    ],
    tests: ['test/e2e/credentials-fault.e2e.test.ts'],
  },
  {
    name: 'scoped-inspect-scope',
    behaviour: "an app part's inspect reads only that part's roles, not every app's",
    edits: [
      {
        file: 'provider/engines/postgres/sql/scoped-roles.sql',
        search: `       AND ($4::text IS NULL
            OR coalesce(left(d.description, 16), '') <> 'pmgrants:managed'`,
        replace: `       AND ($4::text IS NULL OR true
            OR coalesce(left(d.description, 16), '') <> 'pmgrants:managed'`,
      },
    ],
    tests: ['test/e2e/postgres-scoped-inspect.e2e.test.ts'],
  },
  {
    name: 'warehouse-marker',
    behaviour: "a role whose marker names another warehouse (database) is that warehouse's: never changed or dropped",
    edits: [
      {
        file: 'provider/engines/postgres/inspect.ts',
        search: '      if (warehouse !== rows.database) foreign.set(r.name, warehouse);',
        replace: '      if (warehouse !== rows.database && Math.random() < 0) foreign.set(r.name, warehouse);',
      },
    ],
    tests: ['test/e2e/pulumi-shared-server.e2e.test.ts', 'test/e2e/shared-server.e2e.test.ts'],
    build: true,
  },
  {
    name: 'warehouse-marker-scoped',
    behaviour: "a scoped (one-part) inspect also leaves another warehouse's roles alone",
    edits: [
      {
        file: 'provider/engines/postgres/inspect.ts',
        search: '    if (warehouse !== undefined && warehouse !== all.database) ownership.foreign.set(name, warehouse);',
        replace: '    if (warehouse !== undefined && warehouse !== all.database && Math.random() < 0) ownership.foreign.set(name, warehouse);',
      },
    ],
    tests: ['test/e2e/postgres-scoped-inspect.e2e.test.ts', 'test/e2e/pulumi-shared-server.e2e.test.ts'],
    build: true,
  },
  {
    name: 'report-noinherit',
    behaviour: 'the access report follows only inheriting memberships; a NOINHERIT one is reachable by SET ROLE only',
    edits: [
      {
        file: 'provider/engines/postgres/access-facts.ts',
        search: 'const inherit = pg16 ? m.inherit_option !== false : roles.get(member)?.inherit !== false;',
        replace: 'const inherit = true;',
      },
    ],
    tests: ['test/e2e/report.e2e.test.ts'],
  },
  {
    name: 'plan-convergence',
    behaviour: 'plans converge: after apply, the next plan is empty',
    edits: [
      {
        file: 'provider/plan/diff.ts',
        search: 'have.withGrantOption !== want.withGrantOption',
        replace: 'have.withGrantOption === want.withGrantOption',
      },
    ],
    tests: ['test/e2e/postgres.e2e.test.ts', 'test/e2e/cli.e2e.test.ts'],
  },
  {
    name: 'public-revocation',
    behaviour: "PUBLIC's built-in EXECUTE on the functions app roles create is revoked",
    edits: [
      {
        file: 'provider/engines/postgres/inspect.ts',
        search: '    if (!ownFunctionsEntry.has(forRole)) permissions.push(',
        replace: '    if (false) permissions.push(',
      },
    ],
    tests: ['test/e2e/postgres.e2e.test.ts', 'test/e2e/cli.e2e.test.ts'],
  },
  {
    name: 'lock-for-apply',
    behaviour: 'apply takes the apply lock before it plans: the plan shown is the plan applied',
    edits: [
      {
        file: 'provider/cli/commands/apply.ts',
        search: 'release = await conn.lockForApply((holder) => io.err(`${waitingForLockMessage(policy.warehouse.database, holder)}\\n`));',
        replace: 'release = undefined;',
      },
    ],
    tests: ['test/e2e/stale.e2e.test.ts'],
    build: true,
  },
  {
    name: 'lock-timeout',
    behaviour: "no statement of an apply waits on a lock longer than the lock timeout",
    edits: [
      {
        file: 'provider/engines/postgres/apply.ts',
        search: "  return `SET LOCAL lock_timeout = ${quoteLiteral(`${Math.round(lockTimeoutSeconds * 1000)}ms`)};\\nSELECT pg_catalog.pg_advisory_lock(${APPLY_LOCK_KEY})`;",
        replace: '  return `SELECT pg_catalog.pg_advisory_lock(${APPLY_LOCK_KEY})`;',
      },
    ],
    tests: ['test/e2e/postgres.e2e.test.ts', 'test/e2e/stale.e2e.test.ts'],
    build: true,
  },
  {
    name: 'expiry-revocation',
    behaviour: 'a grant past its `expires` is revoked by the next apply',
    edits: [
      {
        file: 'provider/model/expiry.ts',
        search: 'export function isExpired(expires: string, now: Date): boolean {\n',
        replace: 'export function isExpired(expires: string, now: Date): boolean {\n  if (expires) return false;\n',
      },
    ],
    tests: ['test/e2e/expiry.e2e.test.ts'],
  },
  {
    name: 'identifier-quoting',
    behaviour: 'PostgreSQL identifiers are quoted with their double quotes doubled',
    edits: [{ file: 'provider/engines/postgres/quote.ts', search: `  return \`"\${name.replace(/"/g, '""')}"\`;`, replace: '  return `"${name}"`;' }],
    tests: ['test/e2e/postgres.e2e.test.ts'],
  },
  {
    name: 'detailed-exitcode-error',
    behaviour: 'plan --detailed-exitcode exits 1 on an error (2 means changes)',
    edits: [{ file: 'provider/cli/main.ts', search: "errorExit = () => 1;", replace: 'errorExit = (code) => code;' }],
    tests: ['test/e2e/cli.e2e.test.ts'],
  },
  {
    name: 'sqlserver-create-permission',
    behaviour: "SQL Server: a persona allowed to create objects gets CREATE TABLE (and the others) in the database",
    edits: [
      {
        file: 'provider/engines/sqlserver/privileges.ts',
        search: "['CREATE FUNCTION', 'CREATE PROCEDURE', 'CREATE TABLE', 'CREATE VIEW'];",
        replace: "['CREATE FUNCTION', 'CREATE PROCEDURE', 'CREATE VIEW'];",
      },
    ],
    tests: ['test/unit/sqlserver-render.test.ts', 'test/unit/sqlserver-apply.test.ts'],
  },
  {
    name: 'cli-deliver-durable',
    behaviour: "the CLI's delivery writes the passwords to the secrets file (pending) before it returns",
    edits: [
      {
        file: 'provider/cli/commands/apply.ts',
        search: '{ deliver: async (passwords) => store.stagePending(passwords, database), signal: p.interruption.signal, patience: p.patience }',
        replace: '{ deliver: async (passwords) => void setTimeout(() => store.stagePending(passwords, database), 50), signal: p.interruption.signal, patience: p.patience }',
      },
    ],
    tests: ['test/unit/cli-apply-partial.test.ts'],
  },
  {
    name: 'layering-upward-import',
    behaviour: 'layers import one way: the pure core (plan/) never imports an engine',
    edits: [
      {
        file: 'provider/plan/diff.ts',
        search: "import { CHANGE_ORDER, Change, ExceptedObject, Plan } from './change';\n",
        replace: "import { CHANGE_ORDER, Change, ExceptedObject, Plan } from './change';\nimport type { EngineConnection } from '../engines/engine';\n",
      },
    ],
    tests: ['test/unit/layering.test.ts'],
  },
  {
    name: 'rules-beside-schema',
    behaviour: "a schema error does not hide the rules' problems: they run on every part the schema accepted",
    edits: [
      {
        file: 'provider/policy/prune.ts',
        search: 'if (!isMapping(merged) || rejectedPaths.some((p) => p.length === 0)) return undefined;',
        replace: 'if (!isMapping(merged) || rejectedPaths.some((p) => p.length >= 0)) return undefined;',
      },
    ],
    tests: ['test/unit/policy-schema-and-rules.test.ts'],
  },
  {
    name: 'rules-beside-schema-grant-hole',
    behaviour: 'a refused grant leaves a hole, so the rules still point at the right grant for every other one',
    edits: [
      {
        file: 'provider/policy/prune.ts',
        search: '    delete doc.grants[Number(second)];\n',
        replace: '    doc.grants.splice(Number(second), 1);\n',
      },
    ],
    tests: ['test/unit/policy-schema-and-rules.test.ts'],
  },
  {
    name: 'push-all-no-spread',
    behaviour: 'input-sized lists are never spread into call arguments (pushAll loops): a 150,000-principal policy validates',
    edits: [
      {
        file: 'provider/model/collections.ts',
        search: '  for (const item of items) target.push(item);\n',
        replace: '  target.push(...items);\n',
      },
    ],
    tests: ['test/unit/huge-policy.test.ts', 'test/unit/no-call-spread.test.ts'],
  },
  {
    name: 'detailed-exitcode-secrets-file-work',
    behaviour: 'plan --detailed-exitcode exits 2 when the only work is on the secrets file (pending passwords the server holds)',
    edits: [
      {
        file: 'provider/cli/commands/plan.ts',
        search: "if (values['detailed-exitcode']) return hasWork(view.plan) ? 2 : EXIT.ok;",
        replace: "if (values['detailed-exitcode']) return view.plan.changes.length > 0 ? 2 : EXIT.ok;",
      },
    ],
    tests: ['test/e2e/credentials-fault.e2e.test.ts'],
  },
  {
    name: 'default-prefix-note',
    behaviour: 'validate notes a policy that keeps the default prefix (one warehouse per server can use it)',
    edits: [
      {
        file: 'provider/policy/rules.ts',
        search: 'if (ctx.policy.options?.prefix !== undefined || ctx.policy.warehouse.database === DEMO_DATABASE) return;',
        replace: 'if (ctx.policy.options?.prefix === undefined || ctx.policy.warehouse.database === DEMO_DATABASE) return;',
      },
    ],
    tests: ['test/unit/policy-default-prefix.test.ts'],
  },
  {
    name: 'unreachable-owner-acls',
    behaviour: "PostgreSQL inspect leaves out the ACLs of objects whose owner the provisioning role cannot act as, so plans converge",
    edits: [{ file: 'provider/engines/postgres/sql/object-acls.sql', search: "\nWHERE pg_catalog.pg_has_role(o.owner, 'USAGE')", replace: '' }],
    tests: ['test/e2e/postgres-stray-owners.e2e.test.ts'],
  },
  {
    name: 'unreachable-owner-column-acls',
    behaviour: "PostgreSQL inspect leaves out the column grants of tables whose owner the provisioning role cannot act as",
    edits: [{ file: 'provider/engines/postgres/sql/column-acls.sql', search: " AND pg_catalog.pg_has_role(o.owner, 'USAGE')", replace: '' }],
    tests: ['test/e2e/postgres-stray-owners.e2e.test.ts'],
  },
  {
    name: 'unreachable-one-by-one',
    behaviour: 'PostgreSQL renders a grant or revoke that leaves objects out as one statement naming the others, not ON ALL ... IN SCHEMA',
    edits: [{ file: 'provider/engines/postgres/render.ts', search: '  const oneByOne = except && except.length > 0', replace: '  const oneByOne = Math.random() < 0 && except && except.length > 0' }],
    tests: ['test/unit/postgres-model.test.ts', 'test/e2e/postgres-stray-owners.e2e.test.ts'],
  },
  {
    name: 'unreachable-except',
    behaviour: 'the diff carries the objects out of reach on the grants and revokes that cover them',
    edits: [{ file: 'provider/plan/diff.ts', search: '  return except ? { ...change, except } : change;', replace: '  return change;' }],
    tests: ['test/unit/postgres-model.test.ts'],
  },
  {
    name: 'unreachable-findings',
    behaviour: 'the plan names the objects out of reach, their owner and the hand-over, as warnings',
    edits: [{ file: 'provider/plan/diff.ts', search: '  pushAll(d.warnings, unreachableFindings(actual));\n', replace: '' }],
    tests: ['test/unit/postgres-model.test.ts', 'test/e2e/postgres-stray-owners.e2e.test.ts'],
  },
  {
    name: 'unreachable-slice',
    behaviour: "a part's slice (a Pulumi resource) keeps the objects out of reach of its schemas",
    edits: [{ file: 'provider/plan/slice.ts', search: '    ...unreachableIn(actual, claim),\n', replace: '' }],
    tests: ['test/unit/postgres-model.test.ts'],
  },
  {
    name: 'sqlserver-column-grants',
    behaviour: 'SQL Server inspect reads column permissions on app schemas, so plan and apply revoke them',
    edits: [
      {
        file: 'provider/engines/sqlserver/inspect.ts',
        search: '  return row.column_name ? { ...columnSecurable(schema.name, row.object_name, row.column_name), ...ownedBy } : undefined;',
        replace: '  return Math.random() < 0 && row.column_name ? { ...columnSecurable(schema.name, row.object_name, row.column_name), ...ownedBy } : undefined;',
      },
    ],
    tests: ['test/unit/sqlserver-least-privilege.test.ts', 'test/unit/sqlserver-outsiders.test.ts'],
  },
  {
    name: 'sqlserver-revoke-as-object-owner',
    behaviour: "SQL Server revokes on an object or column AS the principal that owns it (its own owner before the schema's)",
    edits: [{ file: 'provider/engines/sqlserver/render.ts', search: "  if (on.type === 'engine' && on.owner !== undefined) return ` AS ${quoteName(on.owner)}`;\n", replace: '' }],
    tests: ['test/unit/sqlserver-least-privilege.test.ts', 'test/unit/sqlserver-outsiders.test.ts', 'test/unit/sqlserver-render.test.ts'],
  },
  {
    name: 'sqlserver-simulator-object-as-owner',
    behaviour: 'the simulator refuses a REVOKE or DENY on an object AS a principal that does not own it (REVOKE Object Permissions)',
    edits: [{ file: 'test/fixtures/sqlserver/catalog-simulator.ts', search: "    if (verb !== 'GRANT' && target.class === 1 && owner !== grantor.principal_id) throw denied.grantor();\n", replace: '' }],
    tests: ['test/unit/sqlserver-least-privilege.test.ts'],
  },
  {
    name: 'sqlserver-column-deny-left',
    behaviour: 'SQL Server leaves DENYs on app schema objects and columns alone (revoking one could only widen access)',
    edits: [
      {
        file: 'provider/engines/sqlserver/inspect.ts',
        search: "if (!vocabulary?.has(row.permission_name) && !(onAppSchema && effect === 'GRANT')) continue;",
        replace: "if (!vocabulary?.has(row.permission_name) && !onAppSchema) continue;",
      },
    ],
    tests: ['test/unit/sqlserver-least-privilege.test.ts', 'test/unit/sqlserver-outsiders.test.ts'],
  },
  {
    name: 'protected-never-named',
    behaviour: 'no change of a plan names a protected role: what it holds, its memberships and its members are kept, in authoritative mode too',
    edits: [
      {
        file: 'provider/plan/protected.ts',
        search: "const hit = names.find((n) => n !== '' && match(n).length > 0);",
        replace: "const hit = names.find((n) => n !== '' && match(n).length > 0 && Math.random() < 0);",
      },
    ],
    tests: ['test/unit/protected.test.ts', 'test/e2e/protected.e2e.test.ts'],
  },
  {
    name: 'checkout-apply-lock',
    behaviour: 'pmgrants checkout takes the apply lock: two takers of one app never interleave, the second supersedes the first and says so',
    edits: [
      {
        file: 'provider/cli/commands/checkout.ts',
        search: 'const taken = await underApplyLock(conn, onWait, () =>',
        replace: 'const taken = await ((_c: unknown, _w: unknown, take: () => ReturnType<typeof checkoutLive>) => take())(conn, onWait, () =>',
      },
    ],
    tests: ['test/e2e/checkout.e2e.test.ts'],
    build: true,
  },
  {
    name: 'valid-until-set',
    behaviour: "PostgreSQL: every password pmgrants sets is VALID UNTIL the policy's lifetime (security.rotation.validFor)",
    edits: [
      {
        file: 'provider/engines/postgres/marker.ts',
        search: ' WITH PASSWORD ${quoteLiteral(verifier)} VALID UNTIL ${quoteLiteral(until)};',
        replace: ' WITH PASSWORD ${quoteLiteral(verifier)};',
      },
    ],
    tests: ['test/unit/postgres-lifetime.test.ts', 'test/e2e/checkout.e2e.test.ts', 'test/e2e/pulumi-checkout.e2e.test.ts'],
    build: true,
  },
  {
    name: 'expired-password-rotated',
    behaviour: 'plan rotates a generated password that has expired (VALID UNTIL or validFor past), and apply delivers one valid again',
    edits: [
      {
        file: 'provider/plan/diff.ts',
        search: 'passwordExpired(login.name, actual, desired, options.now)',
        replace: 'passwordExpired(login.name, actual, desired, undefined)',
      },
    ],
    tests: ['test/unit/password-expiry.test.ts', 'test/e2e/checkout.e2e.test.ts'],
  },
  {
    name: 'protected-object-owner',
    behaviour: 'a revoke on an object a protected role owns (SQL Server revokes AS that owner) is kept, never run as the protected role',
    edits: [{ file: 'provider/plan/protected.ts', search: "        ...(on.type === 'engine' && on.owner !== undefined ? [on.owner] : []),\n", replace: '' }],
    tests: ['test/unit/sqlserver-protected.test.ts'],
  },
  {
    name: 'busy-statement-lock-timeout',
    behaviour: 'PostgreSQL: after the apply lock, every statement waits at most the short lock timeout, so readers never queue behind the apply longer',
    edits: [{ file: 'provider/engines/postgres/apply.ts', search: '    ...(statements ? [timeout(statementLockTimeoutSeconds)] : []),\n', replace: '' }],
    tests: ['test/unit/busy.test.ts', 'test/e2e/busy-warehouse.e2e.test.ts'],
  },
  {
    name: 'busy-retry',
    behaviour: 'a transaction rolled back by a conflict with somebody else is tried again (with backoff, within --wait), not a failed run',
    edits: [{ file: 'provider/engines/busy.ts', search: '      if (!(err instanceof TransientConflict)) throw err;\n', replace: '      throw err;\n' }],
    tests: ['test/unit/busy.test.ts', 'test/e2e/busy-warehouse.e2e.test.ts'],
  },
  {
    name: 'busy-tuple-concurrently-updated',
    behaviour: 'PostgreSQL: "tuple concurrently updated" (a DBA granting on the same object at the same moment) is a conflict tried again',
    edits: [{ file: 'provider/engines/postgres/errors.ts', search: "    case 'XX000':\n", replace: "    case 'XX000-never':\n" }],
    tests: ['test/unit/busy.test.ts', 'test/e2e/busy-warehouse.e2e.test.ts'],
  },
  {
    name: 'busy-names-blocker',
    behaviour: 'PostgreSQL: a round trip still out after half the lock timeout asks the server who blocks it, and the sentence names that session',
    edits: [{ file: 'provider/engines/postgres/apply.ts', search: '      if (blocked) this.blocked = blocked;\n', replace: '' }],
    tests: ['test/e2e/busy-warehouse.e2e.test.ts'],
  },
  {
    name: 'busy-sqlserver-lock-timeout',
    behaviour: 'SQL Server: every warehouse transaction sets SET LOCK_TIMEOUT after the apply lock, and 1222 / 1205 are tried again',
    edits: [{ file: 'provider/engines/sqlserver/apply.ts', search: '  [1222, ', replace: '  [-1222, ' }],
    tests: ['test/unit/busy.test.ts'],
  },
  {
    name: 'plan-lock-lines',
    behaviour: 'the plan names the changes that take exclusive locks (REASSIGN OWNED on a dropped role with an heir)',
    edits: [{ file: 'provider/pipeline/plan.ts', search: '  if (locks.length > 0) plan.locks = locks;\n', replace: '' }],
    tests: ['test/e2e/busy-warehouse.e2e.test.ts'],
  },
  {
    name: 'masked-persona-base-rights',
    behaviour: 'a persona that sees personal data masked or hidden gets no right on the app schema (it reads the companion schema instead)',
    edits: [
      {
        file: 'provider/model/compile.ts',
        search: "  if (!masked || visibility === 'clear') return grantRights(b, role, schema, rights);",
        replace: "  grantRights(b, role, schema, rights);\n  if (!masked || visibility === 'clear') return;",
      },
    ],
    tests: ['test/unit/masking.test.ts', 'test/e2e/personal-data.e2e.test.ts'],
    build: true,
  },
  {
    name: 'masking-new-table-view',
    behaviour: 'plan makes the masked view of a table created since the last apply (a new table is drift)',
    edits: [{ file: 'provider/plan/masking.ts', search: "        if (!have) changes.push({ kind: 'create-masked-view', view });", replace: '        if (!have) continue;' }],
    tests: ['test/unit/masking.test.ts', 'test/e2e/personal-data.e2e.test.ts'],
    build: true,
  },
  {
    name: 'masking-stale-view',
    behaviour: "plan replaces a masked view whose table or masks changed (the view's comment is its fingerprint)",
    edits: [{ file: 'provider/plan/masking.ts', search: "        else if (have.comment !== maskedViewComment(view))", replace: '        else if (false)' }],
    tests: ['test/unit/masking.test.ts', 'test/e2e/personal-data.e2e.test.ts'],
    build: true,
  },
  {
    name: 'pseudonym-keyed',
    behaviour: 'the pseudonym is a keyed hash: the key from the key table goes into every token',
    edits: [{ file: 'provider/engines/postgres/masking.ts', search: '${concat(keyExpression(keySchema), text)}', replace: '${text}' }],
    tests: ['test/unit/masking.test.ts', 'test/e2e/personal-data.e2e.test.ts'],
    build: true,
  },
  {
    name: 'masking-pattern-first-match',
    behaviour: "a personal column's mask is the first matching pattern's; a column no pattern matches is not masked",
    edits: [{ file: 'provider/model/masking.ts', search: 'return rules.find((r) => globMatches(r.table, table) && globMatches(r.column, column))?.mask;', replace: 'return rules.find((r) => globMatches(r.column, column))?.mask;' }],
    tests: ['test/unit/masking.test.ts', 'test/e2e/personal-data.e2e.test.ts'],
    build: true,
  },
  {
    name: 'masked-base-revoked-additive',
    behaviour: "personal data fails closed under additive enforcement: a masked persona's privileges on the app schema are revoked",
    edits: [{ file: 'provider/plan/diff.ts', search: '    if ((authoritative && inScope(have)) || maskedBase(have)) changes.push(revoke(have));', replace: '    if (authoritative && inScope(have)) changes.push(revoke(have));' }],
    tests: ['test/unit/masking.test.ts'],
  },
  {
    name: 'report-personal-data',
    behaviour: 'report: a principal that reads an app through its companion schema gets the app cell, saying its personal columns read masked or hidden',
    edits: [{ file: 'provider/report/compute.ts', search: '        for (const view of h || wanted ? [] : views) {', replace: '        for (const view of h || wanted ? [] : views.slice(0, 0)) {' }],
    tests: ['test/e2e/personal-data.e2e.test.ts'],
    build: true,
  },
  {
    name: 'masking-key-schema-drift',
    behaviour: "inspect reads anyone's privileges on the pseudonym key's schema (PUBLIC's too), so the plan revokes them",
    edits: [{ file: 'provider/engines/postgres/inspect.ts', search: '  if (desired.masking) appSchemas.add(desired.masking.keySchema);', replace: '' }],
    tests: ['test/e2e/personal-data.e2e.test.ts'],
    build: true,
  },
  {
    name: 'masking-part-claims',
    behaviour: "Pulumi parts: the companion schemas the warehouse's masking owner owns are their apps', not the warehouse part's (which would revoke the readers' grants)",
    edits: [{ file: 'provider/plan/slice.ts', search: '  for (const s of actual.schemas) if (principals.has(s.owner) && s.owner !== masker?.owner) schemas.add(s.name);', replace: '  for (const s of actual.schemas) if (principals.has(s.owner)) schemas.add(s.name);' }],
    tests: ['test/e2e/personal-data-parts.e2e.test.ts'],
  },
  {
    name: 'busy-blocker-secrets',
    behaviour: "a blocking session's query is printed without what follows PASSWORD or SECRET",
    edits: [{ file: 'provider/engines/busy.ts', search: "  return query.replace(", replace: '  return query; void query.replace(' }],
    tests: ['test/unit/busy.test.ts'],
  },
  {
    name: 'ddm-masks-columns',
    behaviour: 'SQL Server: the personal columns of the live tables get Dynamic Data Masking masks',
    edits: [{ file: 'provider/plan/masking.ts', search: "      if (columns.length > 0) changes.push({ kind: 'mask-columns'", replace: "      if (columns.length < 0) changes.push({ kind: 'mask-columns'" }],
    tests: ['test/unit/sqlserver-masking.test.ts'],
  },
  {
    name: 'ddm-hidden-leaves-out',
    behaviour: 'SQL Server: hidden readers are granted only the columns that are not personal',
    edits: [{ file: 'provider/plan/masking.ts', search: '            : relation.columns.filter((c) => columnMask(app.rules, relation.name, c) === undefined);', replace: '            : relation.columns;' }],
    tests: ['test/unit/sqlserver-masking.test.ts'],
  },
  {
    name: 'ddm-unmask-clear-readers',
    behaviour: 'SQL Server: the clear personas and the schema owner get UNMASK on the app schema',
    edits: [{ file: 'provider/engines/sqlserver/masking.ts', search: "    for (const grantee of [...readers].sort()) unmask.push(", replace: "    for (const grantee of [...readers].sort().slice(0, 0)) unmask.push(" }],
    tests: ['test/unit/sqlserver-masking.test.ts'],
  },
  {
    name: 'ddm-replace-drops-first',
    behaviour: 'SQL Server: a mask whose function changes is dropped before it is added again (ADD MASKED on a masked column is not documented)',
    edits: [{ file: 'provider/engines/sqlserver/masking.ts', search: '  return [...(replaces ? [statement(`${target} DROP MASKED;`)] : []),', replace: '  return [...(replaces && Math.random() < 0 ? [statement(`${target} DROP MASKED;`)] : []),' }],
    tests: ['test/unit/sqlserver-masking.test.ts', 'test/unit/sqlserver-render.test.ts'],
  },
  {
    name: 'ddm-doctor-rights',
    behaviour: 'doctor on SQL Server checks ALTER ANY MASK, ALTER on the masked schemas and the version for a policy with personal columns',
    edits: [{ file: 'provider/engines/sqlserver/preflight.ts', search: '    ...maskingChecks(facts, desired, context, who),', replace: '' }],
    tests: ['test/unit/sqlserver-preflight.test.ts'],
  },
  {
    name: 'ddm-export-unmask',
    behaviour: 'SQL Server export: a role with UNMASK on the schema is a persona that sees personal data clear, one without it masked',
    edits: [{ file: 'provider/engines/sqlserver/export.ts', search: '          unmasked.push({ grantee: who, schema: s.name });', replace: '' }],
    tests: ['test/unit/sqlserver-masking.test.ts'],
  },
  {
    name: 'ddm-column-grants-joined',
    behaviour: "a DBA's column grants to one grantee on one table are revoked in one change and one statement",
    edits: [{ file: 'provider/plan/diff.ts', search: 'changes: orderChanges(joinColumnChanges(kept.changes))', replace: 'changes: orderChanges(kept.changes)' }],
    tests: ['test/unit/sqlserver-masking.test.ts'],
  },
  {
    name: 'pg-doctor-lock-table',
    behaviour: "doctor on PostgreSQL sizes the masked views one apply makes against the lock table",
    edits: [{ file: 'provider/engines/postgres/preflight.ts', search: '  if (lockTable) checks.push(lockTable);', replace: '' }],
    tests: ['test/unit/masking.test.ts'],
  },
  {
    name: 'ddm-unmask-schema-readers',
    behaviour: "SQL Server: the logins transformations run as (the app's login, the shared login) read the schema's personal columns clear",
    edits: [{ file: 'provider/engines/sqlserver/masking.ts', search: '...(app.clearReaders ?? []), ...onSchema]);', replace: '...(app.clearReaders ?? [])]); void onSchema;' }],
    tests: ['test/unit/sqlserver-masking.test.ts'],
  },
  {
    name: 'ddm-computed-fail-closed',
    behaviour: 'SQL Server: a personal computed column (no mask can be defined on it) is not granted to masked readers',
    edits: [{ file: 'provider/plan/masking.ts', search: "        const unmaskable = (c: string, i: number) => relation.columnComputed?.[i] === true && columnMask(app.rules, relation.name, c) !== undefined;", replace: "        const unmaskable = (c: string, i: number) => Math.random() < 0 && relation.columnComputed?.[i] === true && columnMask(app.rules, relation.name, c) !== undefined;" }],
    tests: ['test/unit/sqlserver-masking.test.ts'],
  },
  {
    name: 'report-ddm-fail-closed',
    behaviour: 'report on SQL Server: a masked reader not granted a column made after the last apply is missing, not expected',
    edits: [{ file: 'provider/report/compute.ts', search: '    if (!excess.length && unread.length) {', replace: '    if (!excess.length && unread.length && Math.random() < 0) {' }],
    tests: ['test/unit/report-sqlserver-masking.test.ts'],
  },
  {
    name: 'report-ddm-schema-wide-drift',
    behaviour: 'report on SQL Server: a masked reader holding SELECT on the whole schema is drift (a later table is readable before it is masked)',
    edits: [{ file: 'provider/report/compute.ts', search: '  if (excess.length) return { ...cell, status: \'drift\', personalData, detail: instead(excess.join(\'; \')) };', replace: '' }],
    tests: ['test/unit/report-sqlserver-masking.test.ts'],
  },
  {
    name: 'diff-stacks-personal-data',
    behaviour: "diff-stacks compares each app's personal-column patterns and masks between stacks",
    edits: [{ file: 'provider/cli/commands/diff-stacks.ts', search: '    personal(A),\n    personal(B),', replace: '    personal(A),\n    personal(A),' }],
    tests: ['test/unit/pulumi-diff-stacks.test.ts'],
  },
  {
    name: 'pulumi-password-set-at',
    behaviour: "a Pulumi part's passwords are stamped with the set time its state records",
    edits: [{ file: 'provider/pipeline/part.ts', search: '  const lifetime = { ...passwordLifetimeOf(desired, appliedAt), setAt: appliedAt };', replace: '  const lifetime = passwordLifetimeOf(desired, appliedAt);' }],
    tests: ['test/unit/pulumi-providers.test.ts'],
  },
];
