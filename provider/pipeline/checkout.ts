/**
 * Credentials per use through the pipeline: take a fresh password of one app's login (pmgrants
 * checkout), or tell a taker whether the one it took still holds. The pure rules are plan/checkout.ts;
 * docs/credentials.md ("Credentials per use") says what a taker is guaranteed.
 */
import { ApplyOptions, EngineConnection } from '../engines/engine';
import { compilePolicy } from '../model/compile';
import { PmgrantsError } from '../model/errors';
import { DesiredState, Policy } from '../model/types';
import { CheckoutReceipt, checkoutLogin, checkoutPlan, checkoutValidFor, supersededBy, Verdict, verifyCheckout } from '../plan/checkout';
import { appPart, sliceDesired } from '../plan/slice';
import { inspectLive, LiveState } from './inspect';
import { passwordLifetimeOf } from './plan';

export interface CheckoutRequest {
  policy: Policy;
  app: string;
  /** --valid-for: a lifetime shorter than the policy's. */
  validFor?: string;
  /** Write-ahead delivery of the new password (the caller's destination), before the server sees it. */
  deliver: NonNullable<ApplyOptions['deliver']>;
  signal?: AbortSignal;
  /** A busy warehouse: lock timeout and retries (engines/busy.ts). */
  patience?: ApplyOptions['patience'];
}

export interface CheckoutTaken {
  receipt: CheckoutReceipt;
  /** The password the server took, by login: the caller promotes it in its destination. */
  secrets: Map<string, string>;
}

/** The app's login and its part of the live database (only what that part can own: one app's cost). */
async function inspectApp(conn: EngineConnection, policy: Policy, app: string, now: Date): Promise<{ desired: DesiredState; login: string; live: LiveState }> {
  const desired = conn.dialect.realize(compilePolicy(policy, { now }));
  const login = checkoutLogin(desired, app);
  const slice = sliceDesired(desired, appPart(app));
  const live = await inspectLive(conn, slice, { scope: { part: appPart(app), claims: [slice] } });
  return { desired, login, live };
}

/**
 * A fresh password for one use of `request.app`'s login. The caller holds the warehouse's apply lock
 * (underApplyLock): two takes never interleave, and the second plans on top of the first one's
 * result. The password is set VALID UNTIL its lifetime's end (PostgreSQL; SQL Server has no expiry
 * time for a login) and delivered write-ahead; the receipt names its generation and validity, and the
 * password it replaced.
 */
export async function checkoutLive(conn: EngineConnection, request: CheckoutRequest): Promise<CheckoutTaken> {
  const now = new Date();
  const { desired, login, live } = await inspectApp(conn, request.policy, request.app, now);
  const validFor = checkoutValidFor(desired, request.validFor);
  const plan = checkoutPlan(desired, live.actual, login);
  const superseded = supersededBy(live.actual, desired, login, now);
  const lifetime = passwordLifetimeOf(desired, now, { ...(validFor !== undefined ? { validFor } : {}), checkout: true });
  let generation: string | undefined;
  const result = await conn.apply(conn.dialect.render(plan.changes, desired), undefined, {
    deliver: async (passwords) => {
      generation = passwords.find((p) => p.login === login)?.generation;
      await request.deliver(passwords);
    },
    ...(request.signal ? { signal: request.signal } : {}),
    ...(request.patience ? { patience: request.patience } : {}),
    passwordLifetime: lifetime,
  });
  if (generation === undefined || !result.secrets.has(login)) throw new PmgrantsError(`the checkout of ${login} set no password; nothing was delivered`);
  const receipt: CheckoutReceipt = {
    app: request.app,
    login,
    database: desired.database,
    generation,
    setAt: now.toISOString(),
    validUntil: lifetime.validUntil?.toISOString() ?? null,
    ...(superseded ? { superseded } : {}),
  };
  return { receipt, secrets: result.secrets };
}

/** Whether the password of `generation` is still the one `app`'s login holds, and valid (no lock: it only reads). */
export async function verifyLive(conn: EngineConnection, policy: Policy, app: string, generation: string): Promise<Verdict> {
  const now = new Date();
  const { desired, login, live } = await inspectApp(conn, policy, app, now);
  return verifyCheckout(live.actual, desired, login, generation, now);
}
