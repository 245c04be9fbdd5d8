/**
 * What bin/pmgrants runs: the one-file CLI bundle (dist/pmgrants.js), compiled with the V8 code cache
 * that `npm run build` made beside it (dist/pmgrants.jsc, see writeCodeCache).
 *
 * Why: a pmgrants command is a short process, and much of its time went on compiling JavaScript: the
 * bundle's top level, then every function the first time it runs (the YAML parser, the validators,
 * compile, diff, render). The cache holds the bytecode of all of them, so a command starts on
 * ready-made bytecode instead.
 *
 * The cache is only ever an optimisation. Its first 32 bytes are the SHA-256 of the bundle it was made
 * from: a cache of another bundle is ignored (V8 itself only compares lengths). V8 rejects a cache made
 * by another Node version or with other V8 flags. In every such case the bundle is compiled as usual.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';

/** How the bundle was compiled: with the cache, or why not. */
export type CodeCacheUse = 'used' | 'rejected by V8' | 'made for another bundle' | 'absent';

export interface LoadedBundle {
  /** The bundle's module.exports (main.ts's exports: runCli, ...). */
  exports: Record<string, unknown>;
  script: vm.Script;
  source: string;
  cache: CodeCacheUse;
}

const DIGEST_BYTES = 32;

export function bundlePaths(distDir: string): { bundle: string; cache: string } {
  return { bundle: path.join(distDir, 'pmgrants.js'), cache: path.join(distDir, 'pmgrants.jsc') };
}

function digestOf(source: string): Buffer {
  return createHash('sha256').update(source).digest();
}

/**
 * Compile and run the bundle as a CommonJS module. `asMain`: the bundle sees itself as the main
 * module, so it runs the CLI on process.argv (as `node dist/pmgrants.js` would). `compiled` is told
 * how the cache served, before the bundle runs.
 */
export function loadBundle(bundleFile: string, cacheFile: string | undefined, asMain: boolean, compiled?: (cache: CodeCacheUse) => void): LoadedBundle {
  const source = fs.readFileSync(bundleFile, 'utf8');
  let cachedData: Buffer | undefined;
  let cache: CodeCacheUse = 'absent';
  if (cacheFile !== undefined) {
    try {
      const file = fs.readFileSync(cacheFile);
      if (file.length > DIGEST_BYTES && file.subarray(0, DIGEST_BYTES).equals(digestOf(source))) cachedData = file.subarray(DIGEST_BYTES);
      else cache = 'made for another bundle';
    } catch {
      // no cache (or unreadable): compile as usual
    }
  }
  const script = new vm.Script(Module.wrap(source), {
    filename: bundleFile,
    ...(cachedData ? { cachedData } : {}),
    // The bundle itself never imports dynamically; the SDKs it requires at run time might.
    ...(vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER ? { importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER } : {}),
  });
  if (cachedData) cache = script.cachedDataRejected ? 'rejected by V8' : 'used';
  compiled?.(cache);
  const module = new Module(bundleFile);
  module.filename = bundleFile;
  module.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(bundleFile));
  const require = Module.createRequire(bundleFile);
  if (asMain) require.main = module;
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, require, module, bundleFile, path.dirname(bundleFile));
  module.loaded = true;
  return { exports: module.exports as Record<string, unknown>, script, source, cache };
}

/**
 * Write the code cache of a bundle that has run: V8 includes every function compiled so far, so the
 * caller first runs the commands whose code should start ready (see scripts/bundle-cli.mjs).
 */
export function writeCodeCache(loaded: LoadedBundle, cacheFile: string): number {
  const data = loaded.script.createCachedData();
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([digestOf(loaded.source), data]));
  fs.renameSync(tmp, cacheFile);
  return DIGEST_BYTES + data.length;
}

if (require.main === module) {
  const { bundle, cache } = bundlePaths(path.resolve(__dirname, '..', '..'));
  loadBundle(bundle, cache, true, (use) => {
    if (process.env.PMGRANTS_DEBUG) process.stderr.write(`pmgrants: code cache ${use} (${cache})\n`);
  });
}
