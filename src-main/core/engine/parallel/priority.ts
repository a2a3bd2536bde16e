/**
 * Training helpers run a little below the app's own threads, so a window, a click or a socket
 * answer always finds a core while every core trains. On Linux a thread has its own nice value:
 * `/proc/thread-self` names the calling thread's id, and setpriority on that id changes only it.
 * Elsewhere (macOS, Windows) the OS has no per-thread nice and the call is skipped.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Lower the calling thread's priority by `niceness` (0 leaves it); returns whether it took effect. */
export function lowerThreadPriority(niceness: number): boolean {
  if (niceness <= 0 || process.platform !== 'linux') return false;
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(threadId) || threadId <= 0) return false;
    setPriority(threadId, niceness);
    return true;
  } catch {
    return false;
  }
}
