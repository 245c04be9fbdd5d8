import { execFileSync } from 'node:child_process';
import * as os from 'node:os';

/** Where the numbers were taken: they mean little without it. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  /** Filled in once a server has started. */
  postgres?: string;
  /** 1, 5 and 15 minute load averages when the run started and when it ended. */
  loadAtStart: number[];
  loadAtEnd?: number[];
  /** The commit measured, with "+dirty" when the work tree had changes. */
  commit?: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  // BENCH_COMMIT: when the runner runs from an exported tree (git archive), the commit it came from.
  let commit: string | undefined = process.env.BENCH_COMMIT || undefined;
  if (!commit) try {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    commit = head + (dirty ? '+dirty' : '');
  } catch {
    commit = undefined;
  }
  return {
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    ...(commit ? { commit } : {}),
  };
}

export function currentLoad(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}
