/**
 * Password lifetimes (security.rotation.validFor) and credentials per use (pmgrants checkout), the pure
 * parts: when a password expires, what plan does about it, what a checkout changes and tells its taker.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { durationMs, durationText } from '../../provider/model/duration';
import { Policy } from '../../provider/model/types';
import { checkPolicy } from '../../provider/policy/check';
import { parseSource } from '../../provider/policy/source';
import { checkoutLogin, checkoutPlan, checkoutValidFor, receiptText, supersededBy, verifyCheckout } from '../../provider/plan/checkout';
import { describeChange } from '../../provider/plan/describe';
import { ActualState } from '../../provider/model/types';
import { diffState } from '../../provider/plan/diff';
import { passwordExpiry } from '../../provider/plan/password-expiry';
import { asApplied } from '../support/states';

const policy = (rotation?: Policy['security']['rotation'], mode: Policy['security']['mode'] = 'system_managed'): Policy => ({
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database: 'w' },
  security: { mode, ...(rotation ? { rotation } : {}) },
  principals: {},
  apps: { p2p: { schema: 'p2p', source: 'closed' }, o2c: { schema: 'o2c', source: 'closed' } },
  grants: [],
});

const now = new Date('2030-01-02T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();
const rotations = (p: Policy, extra: Partial<ActualState>, options: { delivered?: Record<string, { generation?: string }> } = {}) => {
  const desired = compilePolicy(p);
  return diffState(desired, { ...asApplied(desired), ...extra }, { now, ...options }).changes.filter((c) => c.kind === 'rotate-password');
};

describe('durations', () => {
  it('a whole number and m, h or d', () => {
    expect(durationMs('30m')).toBe(1_800_000);
    expect(durationMs('8h')).toBe(28_800_000);
    expect(durationMs('7d')).toBe(604_800_000);
    expect(durationMs('8')).toBeUndefined();
    expect(durationMs('08h')).toBeUndefined();
    expect(durationText('1h')).toBe('1 hour');
    expect(durationText('36h')).toBe('36 hours');
  });

  it('validate: the form by the schema, the range by a rule, and an info on SQL Server', () => {
    const text = (engine: string, validFor: string) =>
      `apiVersion: pmgrants/v1\nwarehouse: { engine: ${engine}, database: wh }\nsecurity: { mode: system_managed, rotation: { validFor: ${validFor} } }\napps: { p2p: { schema: p2p } }\ngrants: []\n`;
    const run = (engine: string, v: string) => checkPolicy(parseSource('p.yaml', text(engine, v)).source!).diagnostics.map((d) => [d.code, d.severity, d.path, d.message]);
    expect(run('postgres', '8x')).toContainEqual(['invalid-value', 'error', '/security/rotation/validFor', 'security.rotation.validFor is "8x"; it must be a whole number and m (minutes), h (hours) or d (days), e.g. 8h']);
    expect(run('postgres', '4m')).toContainEqual(['invalid-value', 'error', '/security/rotation/validFor', 'validFor 4m (4 minutes) is outside 5 minutes to 366 days']);
    expect(run('postgres', '367d')).toContainEqual(['invalid-value', 'error', '/security/rotation/validFor', 'validFor 367d (367 days) is outside 5 minutes to 366 days']);
    expect(run('postgres', '8h').filter(([, severity]) => severity !== 'info')).toEqual([]);
    expect(run('sqlserver', '8h')).toContainEqual([
      'password-expiry-unenforced',
      'info',
      '/security/rotation/validFor',
      'sqlserver logins have no expiry time: a generated password stops working when pmgrants replaces it, at the first apply or checkout after its 8 hours; schedule an apply at least that often',
    ]);
  });

  it('rotation may hold validFor alone, but not nothing', () => {
    const text = `apiVersion: pmgrants/v1\nwarehouse: { engine: postgres, database: wh }\nsecurity: { mode: system_managed, rotation: {} }\napps: { p2p: { schema: p2p } }\ngrants: []\n`;
    expect(checkPolicy(parseSource('p.yaml', text).source!).diagnostics.filter((d) => d.severity === 'error').map((d) => d.path)).toEqual(['/security/rotation']);
    expect(compilePolicy(policy({ validFor: '8h' }))).toMatchObject({ passwordValidFor: '8h' });
    expect(compilePolicy(policy({ validFor: '8h' })).rotationMaxAgeDays).toBeUndefined();
  });
});

describe('plan: an expired password is due for rotation', () => {
  it('the server says when it expires (PostgreSQL VALID UNTIL): past -> rotate-password, reason expired', () => {
    const changes = rotations(policy(), { passwordValidUntil: { pmg_p2p_app: hoursAgo(1), pmg_o2c_app: hoursAgo(-1) } });
    expect(changes).toEqual([{ kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'expired' }]);
    expect(describeChange(changes[0]).text).toBe('login pmg_p2p_app: set a new password (the one it has expired)');
  });

  it('the policy says how long it lives, counted from when it was set (an engine without expiry times)', () => {
    const changes = rotations(policy({ validFor: '8h' }), { passwordSetAt: { pmg_p2p_app: hoursAgo(9), pmg_o2c_app: hoursAgo(7) } });
    expect(changes).toEqual([{ kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'expired' }]);
  });

  it('the earlier of the two ends it: a shorter validFor ends passwords set before it', () => {
    const actual = { passwordSetAt: { pmg_p2p_app: hoursAgo(2) }, passwordValidUntil: { pmg_p2p_app: hoursAgo(-6) } };
    expect(passwordExpiry('pmg_p2p_app', actual, { passwordValidFor: '1h' })?.toISOString()).toBe(hoursAgo(1));
    expect(passwordExpiry('pmg_p2p_app', actual, {})?.toISOString()).toBe(hoursAgo(-6));
    expect(passwordExpiry('pmg_o2c_app', actual, { passwordValidFor: '1h' })).toBeUndefined();
  });

  it('without a clock nothing expires (the diff stays pure)', () => {
    const desired = compilePolicy(policy({ validFor: '8h' }));
    expect(diffState(desired, { ...asApplied(desired), passwordSetAt: { pmg_p2p_app: hoursAgo(9) } }).changes).toEqual([]);
  });
});

describe("plan: a checkout's password belongs to its taker", () => {
  const held = { passwordGeneration: { pmg_p2p_app: 'g-taker', pmg_o2c_app: 'g-other' } };

  it('a secrets file that lacks a checked-out generation does not replace it while it is valid', () => {
    const delivered = { pmg_p2p_app: { generation: 'g-mine' }, pmg_o2c_app: { generation: 'g-mine' } };
    const changes = rotations(policy({ validFor: '8h' }), { ...held, checkedOut: ['pmg_p2p_app'], passwordSetAt: { pmg_p2p_app: hoursAgo(1), pmg_o2c_app: hoursAgo(1) } }, { delivered });
    expect(changes).toEqual([{ kind: 'rotate-password', login: 'pmg_o2c_app', reason: 'undelivered' }]);
  });

  it('once expired it is rotated, like any password', () => {
    const changes = rotations(policy({ validFor: '8h' }), { ...held, checkedOut: ['pmg_p2p_app'], passwordSetAt: { pmg_p2p_app: hoursAgo(9), pmg_o2c_app: hoursAgo(1) } }, {
      delivered: { pmg_o2c_app: { generation: 'g-other' } },
    });
    expect(changes).toEqual([{ kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'expired' }]);
  });

  it('a forced rotation of a valid checked-out password warns that its taker loses it', () => {
    const desired = compilePolicy(policy({ validFor: '8h' }));
    const actual = { ...asApplied(desired), ...held, checkedOut: ['pmg_p2p_app'], passwordSetAt: { pmg_p2p_app: hoursAgo(1) } };
    const plan = diffState(desired, actual, { now, rotate: ['pmg_p2p_app'] });
    expect(plan.warnings).toEqual([`login pmg_p2p_app: the password a checkout delivered (valid until ${hoursAgo(-7)}) stops working when this apply replaces it`]);
  });
});

describe('checkout', () => {
  const desired = compilePolicy(policy({ validFor: '8h' }));

  it('the app must exist, have its own login, not adopted', () => {
    expect(checkoutLogin(desired, 'p2p')).toBe('pmg_p2p_app');
    expect(() => checkoutLogin(desired, 'p2q')).toThrow('unknown app "p2q" (did you mean "p2p"?)');
    expect(() => checkoutLogin(compilePolicy(policy(undefined, 'single_account')), 'p2p')).toThrow(
      'every app shares the login pmg_shared in single_account mode, so a checkout would end the password of every other app; check out per app in system_managed mode',
    );
  });

  it('--valid-for may only shorten the policy lifetime', () => {
    expect(checkoutValidFor(desired, undefined)).toBe('8h');
    expect(checkoutValidFor(desired, '30m')).toBe('30m');
    expect(() => checkoutValidFor(desired, '9h')).toThrow("--valid-for 9h is longer than the policy's security.rotation.validFor (8 hours); a checkout may only shorten it");
    expect(() => checkoutValidFor(desired, 'soon')).toThrow('--valid-for soon is not a duration');
    expect(() => checkoutValidFor(desired, '1m')).toThrow('--valid-for 1m is outside 5 minutes to 366 days');
    expect(checkoutValidFor(compilePolicy(policy()), '2d')).toBe('2d');
  });

  it('its plan is the one rotation, whatever else the warehouse needs; the login must exist', () => {
    const actual = { ...asApplied(desired), permissions: [] };
    expect(checkoutPlan(desired, actual, 'pmg_p2p_app').changes).toEqual([{ kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'checkout' }]);
    expect(() => checkoutPlan(desired, { ...actual, logins: [] }, 'pmg_p2p_app')).toThrow('login pmg_p2p_app does not exist yet in w; run pmgrants apply first, then check out');
  });

  it('the receipt names what it superseded, and verify tells a taker whether its generation still holds', () => {
    const actual: ActualState = { ...asApplied(desired), passwordGeneration: { pmg_p2p_app: 'g1' }, passwordSetAt: { pmg_p2p_app: hoursAgo(1) }, checkedOut: ['pmg_p2p_app'] };
    const superseded = supersededBy(actual, desired, 'pmg_p2p_app', now);
    expect(superseded).toEqual({ generation: 'g1', validUntil: hoursAgo(-7), wasValid: true, byCheckout: true });
    const text = receiptText({ app: 'p2p', login: 'pmg_p2p_app', database: 'w', generation: 'g2', setAt: now.toISOString(), validUntil: hoursAgo(-8), superseded }, '/s.json');
    expect(text).toContain(`It replaced the password another checkout delivered (generation g1, valid until ${hoursAgo(-7)}): whoever holds that one can no longer log in with it.`);
    expect(verifyCheckout(actual, desired, 'pmg_p2p_app', 'g1', now)).toEqual({ live: true, message: `generation g1 is the password pmg_p2p_app holds, valid until ${hoursAgo(-7)}` });
    const later = { ...actual, passwordGeneration: { pmg_p2p_app: 'g2' } };
    expect(verifyCheckout(later, desired, 'pmg_p2p_app', 'g1', now)).toEqual({
      live: false,
      message: 'generation g1 of pmg_p2p_app was replaced by a later checkout (the server holds generation g2): take a new password',
    });
    const expired = { ...actual, passwordSetAt: { pmg_p2p_app: hoursAgo(9) } };
    expect(verifyCheckout(expired, desired, 'pmg_p2p_app', 'g1', now)).toEqual({ live: false, message: `generation g1 of pmg_p2p_app expired at ${hoursAgo(1)}: take a new password` });
    expect(() => verifyCheckout({ ...actual, passwordGeneration: undefined }, desired, 'pmg_p2p_app', 'g1', now)).toThrow('cannot be verified');
  });
});
