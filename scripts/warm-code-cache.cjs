/**
 * Makes dist/pmgrants.jsc, the V8 code cache bin/pmgrants starts the CLI bundle with (see
 * provider/cli/launch.ts). Run by scripts/bundle-cli.mjs with the node that bin/pmgrants uses, so V8
 * accepts the cache.
 *
 * It loads the bundle and runs commands that touch most of its code, without a database: validate,
 * offline plans in every format, a stack comparison. V8 then writes the bytecode of every function
 * compiled so far. Prints one line: the size of the cache.
 */
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { bundlePaths, loadBundle, writeCodeCache } = require(path.join(root, 'dist', 'provider', 'cli', 'launch.js'));

async function main() {
  const { bundle, cache } = bundlePaths(path.join(root, 'dist'));
  const loaded = loadBundle(bundle, undefined, false);
  const quiet = { out() {}, err() {}, env: {}, interactive: false, confirm: async () => false, cwd: root };
  const examples = fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.yaml')).map((f) => path.join(root, 'examples', f));
  const runs = [['--help'], ['plan', '--help']];
  for (const example of examples) {
    runs.push(['validate', example]);
    for (const format of ['text', 'markdown', 'json', 'sql']) runs.push(['plan', example, '--offline', '--format', format]);
    runs.push(['plan', example, '--offline', '--neutral']);
  }
  runs.push(['diff-stacks', path.join(root, 'examples', 'uipath-system-managed.yaml'), 'dev', 'prod', '--stacks-dir', path.join(root, 'stacks')]);
  for (const args of runs) {
    const code = await loaded.exports.runCli(args, quiet);
    if (code !== 0 && code !== 2) throw new Error(`pmgrants ${args.join(' ')} exited ${code} while warming the code cache`);
  }
  const bytes = writeCodeCache(loaded, cache);
  console.log(`code cache: ${path.relative(root, cache)}, ${(bytes / 1024).toFixed(0)} KiB after ${runs.length} commands`);
}

main().catch((e) => {
  console.error(`warm-code-cache: ${e.stack ?? e}`);
  process.exit(1);
});
