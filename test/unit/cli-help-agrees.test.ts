/**
 * The `--help` texts and README's command table say what the code does: every option a command reads is
 * one it declares (so --help lists it), the usage line and README name only declared options, and the
 * values a choice option accepts (what the command itself answers to a wrong one) are the values its
 * usage line, its help and README's row list.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommandSpec, commandHelp } from '../../provider/cli/args';
import { COMMANDS } from '../../provider/cli/main';
import { runCliCaptured } from '../support/cli';

const root = path.join(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const commandsDir = path.join(root, 'provider', 'cli', 'commands');

/** README's command table row of a command (its first cell starts with `pmgrants <name>`). */
function readmeRow(name: string): string | undefined {
  return readme.split('\n').find((l) => l.startsWith(`| \`pmgrants ${name} `) || l.startsWith(`| \`pmgrants ${name}\``));
}

/** The options a text names, long form, without the dashes. */
function optionsIn(text: string): string[] {
  return [...new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => m[1]))];
}

/** The alternatives a text lists for a choice option: `--format text|json` -> [text, json]. */
function choicesIn(text: string, option: string): string[] | undefined {
  const m = new RegExp(`--${option}[ =]([a-z-]+(?:\\\\?\\|[a-z-]+)+)`).exec(text);
  return m?.[1].split(/\\?\|/);
}

/** What the command itself accepts for a choice option, from its answer to a value it does not accept. */
async function accepted(spec: CommandSpec, option: string): Promise<string[]> {
  const example = path.join(root, 'examples', 'ibm-custom-apps.yaml');
  const args = [spec.name, ...(spec.name === 'export' ? [] : [example]), ...(spec.name === 'diff-stacks' ? ['dev', 'test'] : []), `--${option}`, 'no-such-value'];
  const r = await runCliCaptured([...args, ...('offline' in spec.options ? ['--offline'] : [])], { cwd: root });
  const m = new RegExp(`--${option} must be one of (.+), not "no-such-value"`).exec(r.err);
  expect(m, `${args.join(' ')}: ${r.err}`).not.toBeNull();
  return m![1].split(', ');
}

describe('--help and README agree with the code', () => {
  for (const [spec] of COMMANDS) {
    describe(spec.name, () => {
      it('reads only options it declares, so --help lists every option it parses', () => {
        const file = path.join(commandsDir, `${spec.name}.ts`);
        const source = fs.readFileSync(file, 'utf8');
        const read = [...source.matchAll(/values(?:\.([a-zA-Z]+)|\[['"]([a-z-]+)['"]\])/g)].map((m) => m[1] ?? m[2]);
        const help = commandHelp(spec);
        for (const option of read) {
          expect(Object.keys(spec.options), `${spec.name} reads values.${option}`).toContain(option);
          expect(help).toContain(`--${option}`);
        }
      });

      it('its usage line and README row name only options it declares', () => {
        const row = readmeRow(spec.name);
        expect(row, `README's command table has no row for ${spec.name}`).toBeDefined();
        const firstCell = row!.split(' | ')[0];
        for (const option of [...optionsIn(spec.usage), ...optionsIn(firstCell)]) expect(Object.keys(spec.options), `${spec.name}: --${option}`).toContain(option);
      });

      const choices = (['format', 'engine'] as const).filter((o) => choicesIn(spec.usage, o));
      for (const option of choices) {
        it(`--${option}: usage, help and README list exactly what it accepts`, async () => {
          const values = await accepted(spec, option);
          expect(choicesIn(spec.usage, option)?.sort()).toEqual([...values].sort());
          expect(choicesIn(readmeRow(spec.name)!.split(' | ')[0], option)?.sort()).toEqual([...values].sort());
          for (const v of values) expect(spec.options[option].help).toContain(v);
        });
      }
    });
  }

  it('the plan command is checked for its sql format (the usage line once left it out)', () => {
    const plan = COMMANDS.find(([s]) => s.name === 'plan')![0];
    expect(choicesIn(plan.usage, 'format')).toContain('sql');
  });
});
