/**
 * The repository names packages by name and version, never by a package registry's address: no
 * registry host appears in any tracked file (docs, code, lock file, scripts). The hosts are spelled
 * here in parts, so this file does not name them either.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..', '..');
const host = (...labels: string[]) => labels.join('.');

/** Package registries' hosts (and their download and browsing hosts). */
const REGISTRY_HOSTS = [
  host('registry', 'npmjs', 'org'),
  host('npmjs', 'com'),
  host('registry', 'yarnpkg', 'com'),
  host('unpkg', 'com'),
  host('cdn', 'jsdelivr', 'net'),
  host('pypi', 'org'),
  host('pythonhosted', 'org'),
  host('crates', 'io'),
  host('proxy', 'golang', 'org'),
  host('sum', 'golang', 'org'),
  host('pkg', 'go', 'dev'),
  host('repo1', 'maven', 'org'),
  host('repo', 'maven', 'apache', 'org'),
  host('central', 'sonatype', 'com'),
  host('deb', 'debian', 'org'),
  host('security', 'debian', 'org'),
  host('rubygems', 'org'),
  host('nuget', 'org'),
  host('packagist', 'org'),
  host('hex', 'pm'),
];

/** The tracked text files (binary ones, holding a NUL byte, are skipped). */
function trackedTextFiles(): string[] {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
  return files.filter((f) => {
    const full = path.join(root, f);
    if (!fs.existsSync(full) || !fs.statSync(full).isFile()) return false;
    return !fs.readFileSync(full).subarray(0, 8000).includes(0);
  });
}

/** Every `file:line: host` where a registry host appears. */
function registryHostsIn(files: readonly string[], dir = root): string[] {
  const pattern = new RegExp(REGISTRY_HOSTS.map((h) => `(?<![\\w.-])(?:[\\w-]+\\.)*${h.replace(/\./g, '\\.')}(?![\\w-])`).join('|'), 'gi');
  const found: string[] = [];
  for (const f of files) {
    fs.readFileSync(path.join(dir, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const m of line.matchAll(pattern)) found.push(`${f}:${i + 1}: ${m[0]}`);
      });
  }
  return found;
}

describe('no package-registry host in the repository', () => {
  it('no tracked file names one (packages are named by name and version)', () => {
    const files = trackedTextFiles();
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain('package-lock.json');
    expect(registryHostsIn(files)).toEqual([]);
  });

  it('the check finds a registry address in a link, a URL or plain text, and not a name that only ends alike', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-hosts-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'a.md'),
        [`[x](https://${host('pypi', 'org')}/project/x/)`, `"resolved": "https://${host('registry', 'npmjs', 'org')}/a/-/a-1.tgz"`, `see ${host('static', 'crates', 'io')}`, 'the ldap2pg package 5.9', `mypypi.organic`].join('\n'),
      );
      expect(registryHostsIn(['a.md'], dir).map((l) => l.replace(/: .*$/, ''))).toEqual(['a.md:1', 'a.md:2', 'a.md:3']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
