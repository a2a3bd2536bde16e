import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The machine a benchmark ran on, as the README's table describes it. */
export interface MachineDescription {
  cpuModel: string;
  /** Logical CPUs Node sees. */
  cores: number;
  totalMemoryBytes: number;
  os: string;
  node: string;
  /** 1, 5 and 15-minute load averages when the bench started (other work sharing the cores). */
  loadAverageAtStart: number[];
}

/** The `model name` line of /proc/cpuinfo, else what Node reports. */
export function cpuModelName(cpuinfo: string | null): string {
  const line = cpuinfo?.split('\n').find((l) => /^model name\s*:/.test(l));
  const name = line?.split(':').slice(1).join(':').trim();
  return name || os.cpus()[0]?.model?.trim() || 'unknown CPU';
}

export function describeMachine(): MachineDescription {
  let cpuinfo: string | null = null;
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // Not Linux: os.cpus() names the model.
  }
  return {
    cpuModel: cpuModelName(cpuinfo),
    cores: os.availableParallelism?.() ?? os.cpus().length,
    totalMemoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}
