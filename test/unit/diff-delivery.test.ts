/**
 * Delivery of generated passwords: the login's marker records which password generation the server
 * holds; the secrets file records the generations it holds (delivered and pending). A generation the
 * file lacks is a password nobody has: the plan replaces it.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { Policy } from '../../provider/model/types';
import { DeliveredPasswords } from '../../provider/plan/delivery';
import { diffState } from '../../provider/plan/diff';
import { describeChange } from '../../provider/plan/describe';
import { asApplied } from '../support/states';

const policy: Policy = {
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database: 'w' },
  security: { mode: 'system_managed' },
  principals: {},
  apps: { p2p: { schema: 'p2p', source: 'closed' }, o2c: { schema: 'o2c', source: 'open' } },
  grants: [],
} as unknown as Policy;

const desired = compilePolicy(policy);
const [a, b] = desired.logins.map((l) => l.name);
const held = { [a]: 'gen-a2', [b]: 'gen-b1' };
const actual = { ...asApplied(desired), passwordGeneration: held };
const rotations = (delivered?: DeliveredPasswords) =>
  diffState(desired, actual, delivered ? { delivered } : {}).changes.filter((c) => c.kind === 'rotate-password');

describe('diffState: delivery of generated passwords', () => {
  it('no secrets file at hand (delivered absent): delivery is not checked', () => {
    expect(rotations()).toEqual([]);
  });

  it('the file holds the generation the server has, as delivered or as pending: nothing to change in the database', () => {
    expect(rotations({ [a]: { generation: 'gen-a2' }, [b]: { generation: 'gen-b1' } })).toEqual([]);
    expect(rotations({ [a]: { generation: 'gen-a1', pending: 'gen-a2' }, [b]: { generation: 'gen-b1', pending: 'gen-b2' } })).toEqual([]);
  });

  it('a generation in neither, or a login the file lacks: rotate-password, reason undelivered', () => {
    const changes = rotations({ [a]: { generation: 'gen-a1', pending: 'gen-a3' } });
    expect(changes).toEqual([
      { kind: 'rotate-password', login: a, reason: 'undelivered' },
      { kind: 'rotate-password', login: b, reason: 'undelivered' },
    ]);
    expect(describeChange(changes[0]).text).toBe(`login ${a}: set a new password (the server holds one the secrets file does not have)`);
  });

  it('an entry without generations (a version 1 file) or a login whose marker records none is not checked', () => {
    expect(rotations({ [a]: {}, [b]: {} })).toEqual([]);
    const legacy = { ...asApplied(desired) };
    expect(diffState(desired, legacy, { delivered: {} }).changes.filter((c) => c.kind === 'rotate-password')).toEqual([]);
  });

  it('a forced rotation stays "forced" (it delivers a new password anyway)', () => {
    expect(diffState(desired, actual, { delivered: {}, rotate: [a] }).changes.filter((c) => c.kind === 'rotate-password')).toEqual([
      { kind: 'rotate-password', login: a, reason: 'forced' },
      { kind: 'rotate-password', login: b, reason: 'undelivered' },
    ]);
  });
});
