/**
 * The behaviour of pmgrants' Pulumi resources (their shape is in resources.ts). This module runs in
 * Pulumi's dynamic-provider process, loaded by the serialized providers; it is never serialized
 * itself. Each operation is a thin shell over the pipeline the CLI runs too (pipeline/): the desired
 * slice the inputs carry (wire.ts), scoped to the resource's part, inspected, diffed, rendered, applied.
 *
 * - check:  policy diagnostics and missing configuration become check failures (no secret in them).
 * - diff:   pure (no database): property by property in a fixed order, plus drift a refresh recorded
 *           and rotation by age; replacement only when a name changes (REPLACING).
 * - create / update: the minimal change set from diffState for this part; the generated password is
 *           returned as the `password` output, which the resource marks secret.
 * - read:   inspects the part; `drift` lists what differs from the policy, so `pulumi refresh` shows
 *           changes made by hand and the next `up` corrects them. The state keeps no copy of the
 *           database (only inputs, the delivered login and password, its time, drift and warnings).
 * - delete: revokes and drops what this part owns, nothing else. A schema holds data: it and its
 *           owner role are kept (pmgrants never drops data), with a warning.
 *
 * Admin credentials come from stack config pmgrants:databaseUrl (a secret), read in `configure`.
 * Operations run on a small pool of connections (pmgrants:connections, default 4): reads in parallel,
 * creates/updates/deletes one at a time under the engine's apply lock (see withDatabase).
 */
import { connectEngine, dialectFor } from '../engines/registry';
import { EngineConnection } from '../engines/engine';
import { LockHolder, waitingForLockMessage } from '../engines/lock';
import { PmgrantsError } from '../model/errors';
import { emptyState, membershipKey } from '../model/state';
import { passwordExpiryOf } from '../model/duration';
import { ActualState, DesiredState, EngineName } from '../model/types';
import { heldPassword, undeliveredPassword } from '../plan/delivery';
import { describeChange } from '../plan/describe';
import { diffState } from '../plan/diff';
import { appPart, Part, WAREHOUSE } from '../plan/slice';
import { DatabaseWording, WrongDatabaseError } from '../pipeline/database';
import { applyPart, PartApplied } from '../pipeline/part';
import { patienceFrom } from '../engines/busy';
import { inspectLive, LiveState } from '../pipeline/inspect';
import { underApplyLock } from '../pipeline/plan';
import type { GrantsInputs, GrantsOutputs, ResourceKind } from './resources';
import { desiredFromInputs } from './wire';

/** Stack config keys the provider reads. */
export const CONFIG_DATABASE_URL = 'pmgrants:databaseUrl';

const ENGINES: readonly EngineName[] = ['postgres', 'sqlserver', 'azure-sql'];
/** Properties whose change renames objects: the resource is replaced (old objects dropped first). */
const REPLACING: readonly (keyof GrantsInputs)[] = ['app', 'engine', 'database', 'prefix'];
/** Input properties in the order diff reports them (stable). */
const COMPARED: readonly (keyof GrantsInputs)[] = [
  'app',
  'engine',
  'database',
  'prefix',
  'mode',
  'enforcement',
  'prune',
  'rotationMaxAgeDays',
  'rotationToken',
  'checkoutToken',
  'passwordValidFor',
  'protected',
  'tolerateGrantees',
  'appLogins',
  'logins',
  'users',
  'roles',
  'schemas',
  'memberships',
  'permissions',
  'expired',
  'masking',
  'grants',
  'ownerTeam',
  'personalData',
  'diagnostics',
  'drift',
];

// ---------------------------------------------------------------------------------------------
// Configuration and the database connection.
// ---------------------------------------------------------------------------------------------

interface Settings {
  databaseUrl?: string;
  /** How many database connections the provider process uses at most (its operations run in parallel). */
  connections: number;
}

export const CONFIG_CONNECTIONS = 'pmgrants:connections';
export const DEFAULT_CONNECTIONS = 4;
const MAX_CONNECTIONS = 32;

let settings: Settings = { connections: DEFAULT_CONNECTIONS };

/** Stores the stack's configuration: through `install`, or the configure hook of provider text written by earlier versions. */
export function configure(config: { get(key: string): string | undefined }): void {
  const url = config.get(CONFIG_DATABASE_URL);
  const wanted = Number(config.get(CONFIG_CONNECTIONS) ?? DEFAULT_CONNECTIONS);
  const connections = Number.isInteger(wanted) && wanted >= 1 ? Math.min(wanted, MAX_CONNECTIONS) : DEFAULT_CONNECTIONS;
  settings = { ...(url ? { databaseUrl: url } : {}), connections };
}

/**
 * A failure as the dynamic-provider host prints it (`${error}: ${error.stack}`, which the engine shows
 * in the resource's diagnostics): "pmgrants: <one sentence>", no stack trace.
 */
export function oneSentence(e: unknown): Error {
  const sentence = String((e as Error)?.message ?? e).split('\n')[0];
  const failure = new Error(sentence);
  Object.defineProperty(failure, 'stack', { value: sentence });
  failure.toString = () => 'pmgrants';
  return failure;
}

/** The operations a serialized provider gets from `install`, as the dynamic-provider host calls them. */
export interface InstalledOperations {
  check(olds: GrantsInputs, news: GrantsInputs): Promise<unknown>;
  diff(id: string, olds: GrantsOutputs, news: GrantsInputs): Promise<unknown>;
  create(inputs: GrantsInputs): Promise<unknown>;
  read(id: string, props: GrantsOutputs | undefined): Promise<unknown>;
  update(id: string, olds: GrantsOutputs, news: GrantsInputs): Promise<unknown>;
  delete(id: string, props: GrantsOutputs): Promise<void>;
}

/**
 * Called by a serialized provider's configure hook (resources.ts) with the provider object itself:
 * stores the stack's configuration and gives the object its operations, each failing as one sentence.
 * It runs synchronously: the dynamic-provider host caches the object before it calls configure, and
 * hands it to the next operation only after configure's first await, so no operation finds it bare.
 */
export function install(target: object, kind: ResourceKind, config: { get(key: string): string | undefined }): void {
  configure(config);
  const op =
    <A extends unknown[], R>(fn: (kind: ResourceKind, ...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(kind, ...args);
      } catch (e) {
        throw oneSentence(e);
      }
    };
  const operations: InstalledOperations = { check: op(check), diff: op(diff), create: op(create), read: op(read), update: op(update), delete: op(remove) };
  Object.assign(target, operations);
}

const NO_URL = `no database to connect to: set the admin connection URL with "pulumi config set --secret ${CONFIG_DATABASE_URL} <url>"`;

export type Connector = (engine: EngineName, url: string) => Promise<EngineConnection>;
let connector: Connector = connectEngine;

/** Replace how connections are made (tests). */
export function setConnector(c: Connector): void {
  connector = c;
}

// A small pool: the engine asks for many operations at once (one per resource), and each runs on a
// connection of its own, at most `settings.connections` at a time. Reads (refresh) run in parallel.
// Creates, updates and deletes inspect, plan and apply under the warehouse's apply lock (so no other
// pmgrants apply, a CLI or another stack, changes the catalog between a part's inspect and its apply):
// they are serialized by that lock anyway, so the process runs them one at a time itself (`serialized`)
// rather than have its own connections wait for each other's lock (and report it). Each holds the lock
// only for its own part's one-round-trip inspect, plan and apply.
const idle: { key: string; conn: EngineConnection }[] = [];
let active = 0;
const waiting: (() => void)[] = [];
const running = new Set<Promise<unknown>>();
let idleTimer: NodeJS.Timeout | undefined;
/** The operations that run one at a time (under the apply lock), in order. */
let serializedTail: Promise<unknown> = Promise.resolve();
const IDLE_CLOSE_MS = 5_000;

async function acquireSlot(): Promise<void> {
  if (active < settings.connections) {
    active++;
    return;
  }
  // A released slot passes straight to the first waiter (active stays the same).
  await new Promise<void>((resolve) => waiting.push(resolve));
}

function releaseSlot(): void {
  const next = waiting.shift();
  if (next) next();
  else active--;
}

async function closeIdle(): Promise<void> {
  const all = idle.splice(0, idle.length);
  await Promise.all(all.map((c) => c.conn.close().catch(() => undefined)));
}

/** An idle connection to `key`, closing idle ones to another database (the URL changed). */
function takeIdle(key: string): EngineConnection | undefined {
  for (let i = idle.length - 1; i >= 0; i--) {
    if (idle[i].key !== key) void idle.splice(i, 1)[0].conn.close().catch(() => undefined);
  }
  return idle.pop()?.conn;
}

/**
 * Run `fn` on a connection of the pool, waiting for one when all are busy; `serialized`: also after
 * every serialized operation queued before it (it waits for its turn before taking a connection).
 */
function withDatabase<T>(engine: EngineName, fn: (conn: EngineConnection) => Promise<T>, options: { serialized?: boolean } = {}): Promise<T> {
  const pooled = async (): Promise<T> => {
    const url = settings.databaseUrl;
    if (!url) throw new PmgrantsError(NO_URL);
    const key = `${engine}\u0000${url}`;
    await acquireSlot();
    if (idleTimer) clearTimeout(idleTimer);
    let conn: EngineConnection;
    try {
      conn = takeIdle(key) ?? (await connector(engine, url));
    } catch (err) {
      releaseSlot();
      throw err;
    }
    try {
      return await fn(conn);
    } finally {
      idle.push({ key, conn });
      releaseSlot();
      if (active === 0) {
        idleTimer = setTimeout(() => void closeIdle(), IDLE_CLOSE_MS);
        idleTimer.unref();
      }
    }
  };
  let result: Promise<T>;
  if (options.serialized) {
    result = serializedTail.then(pooled, pooled);
    serializedTail = result.catch(() => undefined);
  } else result = pooled();
  const tracked = result.catch(() => undefined);
  running.add(tracked);
  void tracked.then(() => running.delete(tracked));
  return result;
}

/** Close the connections now (tests; the engine otherwise ends the process). */
export async function shutdown(): Promise<void> {
  if (idleTimer) clearTimeout(idleTimer);
  while (running.size > 0) await Promise.all([...running]);
  await closeIdle();
}

// ---------------------------------------------------------------------------------------------
// Wire <-> core.
// ---------------------------------------------------------------------------------------------

export function partOf(kind: ResourceKind, inputs: Pick<GrantsInputs, 'app'>): Part {
  if (kind === 'warehouse') return WAREHOUSE;
  if (!inputs.app) throw new PmgrantsError('an App resource needs its app key (input "app")');
  return appPart(inputs.app);
}

/** The input properties of a resource's stored outputs. */
export function inputsOf(props: GrantsOutputs): GrantsInputs {
  const out: Record<string, unknown> = {};
  for (const k of COMPARED) if (props[k] !== undefined) out[k] = props[k];
  return out as unknown as GrantsInputs;
}

/** The login whose credentials a part delivers: the app's own (system_managed) or the shared one (warehouse, single_account). */
export function deliveredLogin(kind: ResourceKind, desired: DesiredState): string | undefined {
  const purpose = kind === 'app' ? 'app-login' : 'shared-login';
  return desired.logins.find((l) => l.purpose === purpose)?.name;
}

/** What applying `desired` to the part's live state would change, one line each (never a secret). */
export function driftLines(desired: DesiredState, actual: ActualState): string[] {
  return diffState(desired, actual).changes.map((c) => {
    const d = describeChange(c);
    return `${d.sign} ${d.text}`;
  });
}

/** Drop undefined values (the wire format has no undefined). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** JSON with sorted keys; empty lists of the optional list properties count as absent. */
function canonical(key: keyof GrantsInputs, v: unknown): string {
  if ((key === 'drift' || key === 'diagnostics') && Array.isArray(v) && v.length === 0) return 'undefined';
  if (v === undefined) return 'undefined';
  return JSON.stringify(v, (_k, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );
}

function rotationDue(olds: GrantsOutputs, news: GrantsInputs, now: Date): boolean {
  if (!olds.passwordSetAt || !news.rotationMaxAgeDays) return false;
  return (now.getTime() - new Date(olds.passwordSetAt).getTime()) / 86_400_000 > news.rotationMaxAgeDays;
}

/** When the state's password stops being valid (its recorded end, or the lifetime from its set time), if that has passed. */
function expiredAt(olds: GrantsOutputs, news: GrantsInputs, now: Date): Date | undefined {
  if (!olds.login || olds.password === undefined) return undefined;
  const expiry = passwordExpiryOf(olds.passwordValidUntil, olds.passwordSetAt, news.passwordValidFor);
  return expiry !== undefined && expiry.getTime() <= now.getTime() ? expiry : undefined;
}

// ---------------------------------------------------------------------------------------------
// check and diff: pure.
// ---------------------------------------------------------------------------------------------

export interface CheckFailure {
  property: string;
  reason: string;
}

export async function check(kind: ResourceKind, _olds: GrantsInputs, news: GrantsInputs): Promise<{ inputs: GrantsInputs; failures: CheckFailure[] }> {
  // Property '' : the engine would otherwise print the property's whole value next to the reason.
  const failures: CheckFailure[] = (news.diagnostics ?? []).map((reason) => ({ property: '', reason }));
  if (failures.length === 0) {
    if (!ENGINES.includes(news.engine)) failures.push({ property: '', reason: `unknown engine "${String(news.engine)}"; use one of ${ENGINES.join(', ')}` });
    if (kind === 'app' && !news.app) failures.push({ property: '', reason: 'an App resource needs its app key (input "app")' });
    if (kind === 'warehouse' && news.app) failures.push({ property: '', reason: 'a Warehouse resource takes no app key' });
    if (typeof news.database !== 'string' || news.database === '') failures.push({ property: '', reason: 'the warehouse database name is missing' });
    if (typeof news.prefix !== 'string' || news.prefix === '') failures.push({ property: '', reason: 'the naming prefix is missing' });
    if (!settings.databaseUrl) failures.push({ property: '', reason: NO_URL });
  }
  return { inputs: news, failures };
}

export interface DiffResult {
  changes: boolean;
  replaces: string[];
  deleteBeforeReplace: boolean;
  /** Why there are changes besides input properties (drift, rotation); for tests and logs. */
  reasons: string[];
}

export async function diff(kind: ResourceKind, _id: string, olds: GrantsOutputs, news: GrantsInputs, now: Date = new Date()): Promise<DiffResult> {
  const changed = COMPARED.filter((k) => canonical(k, olds[k]) !== canonical(k, news[k]));
  const replaces = changed.filter((k) => REPLACING.includes(k));
  const reasons: string[] = [];
  // Drift a refresh found is the `drift` property (compared above): the state keeps no copy of the database.
  // Grants that expired since the last up change the inputs; say what that revokes.
  const expiredBefore = new Set((olds.expired ?? []).map(membershipKey));
  const newlyExpired = (news.expired ?? []).filter((m) => !expiredBefore.has(membershipKey(m)));
  if (replaces.length === 0 && newlyExpired.length > 0 && (news.diagnostics ?? []).length === 0) {
    const desired = dialectFor(news.engine).realize(desiredFromInputs(news));
    const held = newlyExpired.map((m) => ({ role: m.role, member: m.member }));
    const actual: ActualState = { ...emptyState(desired.engine, desired.database), memberships: held, managed: [...new Set(held.map((m) => m.role))] };
    const lines = diffState(desired, actual)
      .changes.filter((c) => c.kind === 'drop-member')
      .map((c) => {
        const d = describeChange(c);
        return `${d.sign} ${d.text}`;
      });
    if (lines.length > 0) reasons.push(`the database differs from this ${kind === 'app' ? `app's` : "warehouse's"} policy: ${lines.join('; ')}`);
  }
  if (rotationDue(olds, news, now)) reasons.push(`the password of ${olds.login ?? 'the login'} is older than ${news.rotationMaxAgeDays} days`);
  const expired = expiredAt(olds, news, now);
  if (expired) reasons.push(`the password of ${olds.login} expired at ${expired.toISOString()}`);
  return { changes: changed.length > 0 || reasons.length > 0, replaces, deleteBeforeReplace: replaces.length > 0, reasons };
}

// ---------------------------------------------------------------------------------------------
// create, read, update, delete: one operation on the database each.
// ---------------------------------------------------------------------------------------------

/** How this provider refuses a connection to another database than the stack's (pipeline/database.ts). */
const STACK_WORDING: DatabaseWording = { url: CONFIG_DATABASE_URL, governs: "this stack's policy manages" };

function resourceId(kind: ResourceKind, inputs: GrantsInputs): string {
  return `${inputs.database}/${kind === 'app' ? `app/${inputs.app}` : 'warehouse'}`;
}

interface Converged {
  databaseId?: string;
  password?: string;
  passwordSetAt?: string;
  passwordGeneration?: string;
  passwordValidUntil?: string;
  login?: string;
  warnings: string[];
}

/**
 * Bring this part of the database to `news` (undefined: delete the part). `olds` is the state from
 * before: what it named is still claimed, so what the policy dropped is revoked and dropped too.
 */
async function converge(kind: ResourceKind, news: GrantsInputs | undefined, olds: GrantsOutputs | undefined): Promise<Converged> {
  const base = (news ?? olds)!;
  const part = partOf(kind, base);
  const dialect = dialectFor(base.engine);
  const previous = olds ? dialect.realize(desiredFromInputs(olds)) : undefined;
  const desired = news
    ? dialect.realize(desiredFromInputs(news))
    : dialect.realize({ ...desiredFromInputs(olds!), ...emptyState('neutral', olds!.database), enforcement: 'authoritative', prune: true });
  const login = deliveredLogin(kind, desired);
  const scope = { part, claims: previous ? [desired, previous] : [desired] };
  // A busy warehouse: PMGRANTS_LOCK_TIMEOUT and PMGRANTS_WAIT of the `pulumi` process (the provider runs in its environment).
  const patience = { ...patienceFrom({}, process.env), onRetry: (note: string) => process.stderr.write(`pmgrants: ${note}\n`) };
  const request = { dialect, desired, scope, wording: STACK_WORDING, patience, rotate: (live: LiveState) => passwordsToSet(login, desired, news, olds, live) };

  // Inspect, plan and apply under the apply lock: another apply (a CLI, another stack's up on the same
  // database) can neither change the catalog between this inspect and this apply, nor interleave.
  const waiting = (holder: LockHolder) => process.stderr.write(`pmgrants: ${waitingForLockMessage(base.database, holder)}\n`);
  return withDatabase(base.engine, (conn) => underApplyLock(conn, waiting, async () => {
    let done: PartApplied;
    try {
      done = await applyPart(conn, request);
    } catch (e) {
      // Deleting a part of another database (the URL now points elsewhere): leave it as it is.
      if (!news && e instanceof WrongDatabaseError) {
        return { warnings: [`${CONFIG_DATABASE_URL} now connects to "${e.connected}", not "${base.database}": nothing was dropped in "${base.database}"`] };
      }
      throw e;
    }
    const { live, plan } = done;
    // No second inspect: the apply brought the part to `desired` (all or nothing), and the state records
    // nothing else of the database but which password the login holds: a new one's time is the apply's,
    // its generation the one the apply handed over with it (write-ahead, before the server saw it).
    const fresh = login ? done.secrets?.get(login) : undefined;
    const password = login ? (fresh ?? (olds?.login === login ? olds.password : undefined)) : undefined;
    const databaseId = news ? await conn.databaseIdentity?.() : undefined;
    return compact({
      databaseId,
      login,
      password,
      passwordSetAt: login ? (fresh !== undefined ? done.appliedAt.toISOString() : live.actual.passwordSetAt?.[login]) : undefined,
      passwordGeneration: login ? (fresh !== undefined ? done.generations.get(login) : live.whole.passwordGeneration?.[login]) : undefined,
      passwordValidUntil: login ? (fresh !== undefined ? done.validUntil?.toISOString() : (live.whole.passwordValidUntil?.[login] ?? olds?.passwordValidUntil)) : undefined,
      warnings: plan.warnings,
    });
  }), { serialized: true });
}

/**
 * The login whose password this update sets anew: a password the stack does not hold (an existing
 * generated login, first run after a mode change), a new rotation token, or a password the server
 * holds that the state does not (undelivered). A login the policy adopted (apps.<app>.roles.app)
 * keeps the password it has: not pmgrants' to set.
 */
function passwordsToSet(login: string | undefined, desired: DesiredState, news: GrantsInputs | undefined, olds: GrantsOutputs | undefined, live: LiveState): string[] {
  const exists = login !== undefined && live.actual.logins.some((l) => l.name === login);
  const adopted = desired.logins.some((l) => l.name === login && l.adopted);
  if (!exists || !news || adopted) return [];
  const tokenChanged = (olds?.rotationToken ?? '') !== (news.rotationToken ?? '') || (olds?.checkoutToken ?? '') !== (news.checkoutToken ?? '');
  const stale = !olds || olds.login !== login || olds.password === undefined || tokenChanged || stateUndelivered(olds, live.whole);
  return stale ? [login!] : [];
}

/**
 * The server holds a password of the state's login that the state does not (plan/delivery.ts): its
 * marker names another generation than the state (or, for a state from before generations, another time).
 */
function stateUndelivered(olds: GrantsOutputs, whole: ActualState): boolean {
  const login = olds.login;
  if (!login || olds.password === undefined) return false;
  return undeliveredPassword(heldPassword(whole, login), { generation: olds.passwordGeneration, setAt: olds.passwordSetAt });
}

function outputsOf(inputs: GrantsInputs, c: Converged): GrantsOutputs {
  const { drift: _drift, ...rest } = inputs;
  return compact({
    ...rest,
    login: c.login,
    password: c.password,
    passwordSetAt: c.passwordSetAt,
    passwordGeneration: c.passwordGeneration,
    passwordValidUntil: c.passwordValidUntil,
    databaseId: c.databaseId,
    warnings: c.warnings.length > 0 ? c.warnings : undefined,
  });
}

export async function create(kind: ResourceKind, inputs: GrantsInputs): Promise<{ id: string; outs: GrantsOutputs }> {
  const c = await converge(kind, inputs, undefined);
  return { id: resourceId(kind, inputs), outs: outputsOf(inputs, c) };
}

export async function update(kind: ResourceKind, _id: string, olds: GrantsOutputs, news: GrantsInputs): Promise<{ outs: GrantsOutputs }> {
  const c = await converge(kind, news, olds);
  return { outs: outputsOf(news, c) };
}

export async function remove(kind: ResourceKind, _id: string, props: GrantsOutputs): Promise<void> {
  const c = await converge(kind, undefined, props);
  // The engine shows a provider's stderr lines with the resource; nothing here is secret.
  for (const w of c.warnings) process.stderr.write(`pmgrants: ${w}\n`);
}

/** The drift line of a database that was dropped and created again since this part was set up. */
export function recreatedLine(database: string): string {
  return `~ database ${database} is not the one this stack set up (it was dropped and created again): up sets this part up again`;
}

export async function read(kind: ResourceKind, id: string, props: GrantsOutputs | undefined): Promise<{ id: string; props: GrantsOutputs; inputs: GrantsInputs }> {
  if (!props || !props.engine || !Array.isArray(props.logins)) {
    throw new PmgrantsError('pmgrants resources cannot be imported: declare the app in the policy and run pulumi up, which adopts what already exists');
  }
  const inputs = inputsOf(props);
  const desired = dialectFor(inputs.engine).realize(desiredFromInputs(inputs));
  const login = deliveredLogin(kind, desired);
  return withDatabase(inputs.engine, async (conn) => {
    const { whole, actual } = await inspectLive(conn, desired, { scope: { part: partOf(kind, inputs), claims: [desired] }, wording: STACK_WORDING });
    // A database of the same name that is not the one this part was set up in (dropped and created
    // again): everything the part made in it is gone, and up makes it again.
    const databaseId = await conn.databaseIdentity?.();
    const recreated = props.databaseId !== undefined && databaseId !== undefined && databaseId !== props.databaseId;
    const drift = [...(recreated ? [recreatedLine(inputs.database)] : []), ...driftLines(desired, actual)];
    const undelivered = stateUndelivered(props, whole);
    if (undelivered) {
      drift.push(`~ login ${props.login}: set a new password (the server holds one this stack's state does not have: an operation was interrupted after setting it)`);
    }
    const { drift: _old, ...rest } = inputs;
    const nextInputs: GrantsInputs = drift.length > 0 ? { ...rest, drift } : rest;
    // `live` was recorded by earlier versions: dropped from the state at the first refresh.
    const { live: _live, ...kept } = props as GrantsOutputs & { live?: unknown };
    const outs = compact({
      ...kept,
      drift: drift.length > 0 ? drift : undefined,
      // Not the time of a password the state does not hold: the next update compares them again.
      passwordSetAt: (login && !undelivered ? whole.passwordSetAt?.[login] : undefined) ?? props.passwordSetAt,
    });
    return { id, props: outs, inputs: nextInputs };
  });
}
