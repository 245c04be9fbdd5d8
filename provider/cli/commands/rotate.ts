import { compilePolicy } from '../../model/compile';
import { PmgrantsError } from '../../model/errors';
import { didYouMean } from '../../diagnostics/diagnostic';
import { CommandSpec } from '../args';
import { BUSY_OPTIONS, CONNECTION_OPTIONS, POLICY_OPTIONS, loadValidPolicy } from '../common';
import { CliIO } from '../io';
import { applyCommand, applySpec } from './apply';

export const rotateSpec: CommandSpec = {
  name: 'rotate',
  summary: "generate new passwords for apps' logins now",
  usage: 'pmgrants rotate <policy.yaml> <app>... | --all [--database-url URL] [--yes] [--secrets-file FILE]',
  options: {
    ...POLICY_OPTIONS,
    ...CONNECTION_OPTIONS,
    ...BUSY_OPTIONS,
    all: { type: 'boolean', help: 'rotate every generated login' },
    yes: applySpec.options.yes,
    'secrets-file': applySpec.options['secrets-file'],
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  },
  details:
    'Rotation is an apply that also replaces the named logins\' passwords (plus anything else the plan holds):\nit takes the apply lock before it plans, like apply, so a rotation racing an apply waits for it and plans\non top of its result. In single_account mode every app shares one login.\nThe new passwords are written to the secrets file as "pending" and fsynced before the server sees them; a login\nkeeps working with its old password until the server takes the new one, then the file\'s "password" is the new one.\nInterrupted (SIGINT, SIGTERM: exit 130, 143) or killed at any point, no login is left with a password the file does\nnot hold: the next plan says what is left and the next apply finishes it (docs/credentials.md).',
};

export async function rotateCommand(io: CliIO, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const [file, ...apps] = positionals;
  const policy = loadValidPolicy(io, file, values);
  const desired = compilePolicy(policy, { now: new Date() });
  // An adopted login (apps.<app>.roles.app) has a password pmgrants never set and does not hold: not its to replace.
  const adopted = new Set(desired.logins.filter((l) => l.adopted).map((l) => l.name));
  let logins: string[];
  if (values.all) logins = desired.logins.filter((l) => !l.adopted).map((l) => l.name);
  else {
    if (apps.length === 0) throw new PmgrantsError('name the apps whose login to rotate, or pass --all');
    logins = apps.map((a) => {
      const login = desired.appLogins[a];
      if (!login) {
        const near = didYouMean(a, Object.keys(desired.appLogins));
        throw new PmgrantsError(`unknown app "${a}"${near ? ` (did you mean "${near}"?)` : ''}`);
      }
      if (adopted.has(login)) throw new PmgrantsError(`app "${a}" runs as the adopted login ${login}, whose password pmgrants does not manage; rotate it where it is managed`);
      return login;
    });
  }
  if (logins.length === 0) throw new PmgrantsError('every app runs as an adopted login; pmgrants manages no password to rotate');
  return applyCommand(io, values, [file], [...new Set(logins)]);
}
