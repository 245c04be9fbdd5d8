/**
 * Sentences a person reads, worded right: a revoke is "from" its grantee, counts agree with their noun,
 * a kind takes its article, time left is never rounded up, and the demo's isolation table stays aligned
 * whatever a schema is called.
 */
import { describe, expect, it } from 'vitest';
import { isolationTable } from '../../provider/cli/commands/demo';
import { counted } from '../../provider/diagnostics/printable';
import { PUBLIC_GRANTEE } from '../../provider/plan/diff';
import { describeChange } from '../../provider/plan/describe';
import { groupsOnlyViolation, withArticle } from '../../provider/policy/guardrails';
import { timeLeft } from '../../provider/policy/rules-expiry';

describe('wording', () => {
  it('a revoke is "from" its grantee (PUBLIC too); a grant is "to" it', () => {
    const permission = { grantee: PUBLIC_GRANTEE, on: { type: 'schema' as const, name: 'p2p' }, privilege: 'USAGE', effect: 'GRANT' as const, withGrantOption: false };
    expect(describeChange({ kind: 'revoke', permission }).text).toBe('revoke USAGE on schema p2p from PUBLIC');
    expect(describeChange({ kind: 'grant', permission: { ...permission, grantee: 'analysts' } }).text).toBe('grant USAGE on schema p2p to analysts');
  });

  it('counts agree with their noun: "Applied 1 change", "2 changes"', () => {
    expect(`Applied ${counted(1, 'change')} (${counted(1, 'statement')}, ${counted(1, 'round trip')})`).toBe('Applied 1 change (1 statement, 1 round trip)');
    expect(counted(0, 'change')).toBe('0 changes');
    expect(counted(2, 'round trip')).toBe('2 round trips');
  });

  it('a kind takes its article: "an entra-user", "a sql-login"', () => {
    expect(withArticle('entra-user')).toBe('an entra-user');
    expect(withArticle('sql-login')).toBe('a sql-login');
    expect(withArticle('windows-user')).toBe('a windows-user');
    expect(groupsOnlyViolation({ groupsOnly: true }, 'jane', 'entra-user')).toBe('"jane" is an entra-user; this stack allows grants to groups and applications only');
  });

  it('time left is never rounded up: 45 hours is "in 45 hours", not "in 2 days"', () => {
    const now = new Date('2027-03-20T00:00:00Z');
    const at = (hours: number) => new Date(now.getTime() + hours * 3_600_000).toISOString();
    expect(timeLeft(at(45), now)).toBe('in 45 hours');
    expect(timeLeft(at(25), now)).toBe('in 25 hours');
    expect(timeLeft(at(1), now)).toBe('in 1 hour');
    expect(timeLeft(at(0.5), now)).toBe('within the hour');
    expect(timeLeft(at(48), now)).toBe('in 2 days');
    expect(timeLeft(at(71.9), now)).toBe('in 2 days');
    expect(timeLeft(at(12.9 * 24), now)).toBe('in 12 days');
    // A date holds through the end of that day (UTC): from noon, 2027-03-21 is 36 hours away.
    expect(timeLeft('2027-03-21', new Date('2027-03-20T12:00:00Z'))).toBe('in 36 hours');
  });

  it('the demo isolation table stays aligned under a schema name longer than its cells', () => {
    const text = isolationTable(
      ['connected as', 'p2p', 'accounts_payable_invoice_handling'],
      [
        ['pmg_p2p_app', 'read 2', 'denied'],
        ['pmg_accounts-payable_app', 'denied', 'read 2'],
      ],
    );
    const lines = text.trimEnd().split('\n');
    expect(lines).toEqual([
      '  connected as              p2p     accounts_payable_invoice_handling',
      '  pmg_p2p_app               read 2  denied',
      '  pmg_accounts-payable_app  denied  read 2',
    ]);
    // Every column starts at the same place on every line.
    const starts = (line: string) => [...line.matchAll(/(?<=  )\S/g)].map((m) => m.index);
    expect(starts(lines[1])).toEqual(starts(lines[0]));
    expect(starts(lines[2])).toEqual(starts(lines[0]));
  });
});
