/** CPU time of the bench's node processes, from /proc/<pid>/stat. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU milliseconds a process has used (all its threads), or null without /proc. */
export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name in parentheses: state ppid pgrp session tty tpgid flags minflt cminflt majflt
    // cmajflt utime stime …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
  } catch {
    return null;
  }
}

export interface CpuSnapshot {
  readonly nodes: ReadonlyArray<number | null>;
  readonly generator: NodeJS.CpuUsage;
}
