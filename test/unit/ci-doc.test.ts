/**
 * docs/ci.md holds a GitHub Actions workflow; keep it honest: it is well-formed YAML with the jobs the
 * page describes, and every pmgrants command in it is a real command with real options.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMMANDS } from '../../provider/cli/main';
import { parseCommandArgs } from '../../provider/cli/args';
import { DIAGNOSTIC_FORMATS } from '../../provider/diagnostics/format';
import { PLAN_FORMATS } from '../../provider/plan/format';

const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'ci.md'), 'utf8');
const workflowText = /```yaml\n([\s\S]*?)```/.exec(doc)![1];

interface Step {
  run?: string;
  uses?: string;
}
interface Job {
  needs?: string | string[];
  environment?: string;
  steps: Step[];
}

describe('docs/ci.md', () => {
  const workflow = parse(workflowText) as { on: Record<string, unknown>; jobs: Record<string, Job> };

  it('is a workflow for pull requests and pushes to main: validate and plan on PRs, dev -> test -> prod on merge', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
    expect(Object.keys(workflow.jobs)).toEqual(['validate', 'plan', 'deploy-dev', 'deploy-test', 'deploy-prod']);
    expect(workflow.jobs['deploy-test'].needs).toBe('deploy-dev');
    expect(workflow.jobs['deploy-prod'].needs).toBe('deploy-test');
    expect(workflow.jobs['deploy-prod'].environment).toBe('prod');
    expect(workflow.jobs.validate.steps.some((s) => s.uses?.startsWith('github/codeql-action/upload-sarif'))).toBe(true);
    for (const stack of ['dev', 'test', 'prod']) {
      // --refresh: up reads the database first, so drift and a recreated database are caught.
      expect(workflow.jobs[`deploy-${stack}`].steps.some((s) => s.run?.includes(`pulumi up --stack ${stack} --yes --policy-pack policy-pack --refresh`))).toBe(true);
    }
  });

  it('every pmgrants command in it parses with the CLI\'s own option specs, with formats the command accepts', () => {
    const runs = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ''));
    const commands = runs.flatMap((r) => [...r.matchAll(/bin\/pmgrants ([^\n;>|&]+)/g)].map((m) => m[1].replace(/\$\{\{ matrix\.stack \}\}/g, 'dev').trim()));
    expect(commands.length).toBeGreaterThanOrEqual(4);
    for (const line of commands) {
      const [name, ...args] = line.split(/\s+/);
      const entry = COMMANDS.find(([spec]) => spec.name === name);
      expect(entry, `unknown command in docs/ci.md: ${name}`).toBeDefined();
      const { values } = parseCommandArgs(entry![0], args);
      const allowed: Record<string, readonly string[]> = { validate: DIAGNOSTIC_FORMATS, plan: [...PLAN_FORMATS, 'sql'], 'diff-stacks': ['text', 'markdown'] };
      if (values.format !== undefined) expect(allowed[name]).toContain(values.format);
    }
  });
});
