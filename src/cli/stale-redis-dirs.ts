/**
 * The private Redis of `batchinfer run` lives in `$TMPDIR/batchinfer-redis-*`. `run`
 * removes it on every exit it sees; a `run` killed by SIGKILL cannot. Each folder holds an
 * `owner.json` ({pid of run, pid of redis-server}); the next `run` removes folders whose
 * owner is gone, stopping their redis-server first if it is still running.
 */
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REDIS_DIR_PREFIX = 'batchinfer-redis-';
const OWNER_FILE = 'owner.json';
/** A folder from before owner files (or one whose owner file was never written) counts as stale after this. */
const UNOWNED_STALE_MS = 24 * 3600 * 1000;

interface Owner {
  pid: number;
  redisPid?: number;
}

export async function writeOwner(dir: string, owner: Owner): Promise<void> {
  await writeFile(path.join(dir, OWNER_FILE), JSON.stringify(owner), { mode: 0o600 });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` is a redis-server serving `dir` (Linux /proc; elsewhere we do not guess). */
function isRedisOf(pid: number, dir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((arg) => arg.includes('redis-server')) && cmdline.includes(dir);
  } catch {
    return false;
  }
}

async function readOwner(dir: string): Promise<Owner | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, OWNER_FILE), 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/** Removes the stale folders of killed runs; returns the ones removed. Never throws. */
export async function removeStaleRedisDirs(tmp = os.tmpdir(), now = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(tmp)).filter((name) => name.startsWith(REDIS_DIR_PREFIX));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const dir = path.join(tmp, name);
    try {
      const owner = await readOwner(dir);
      if (owner) {
        if (isAlive(owner.pid)) continue;
        if (owner.redisPid && isAlive(owner.redisPid) && isRedisOf(owner.redisPid, dir)) process.kill(owner.redisPid, 'SIGKILL');
      } else {
        const info = await stat(dir);
        // Only our own folders: another user's are not ours to judge.
        if (info.uid !== process.getuid?.() || now - info.mtimeMs < UNOWNED_STALE_MS) continue;
      }
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Someone else's folder, or removed concurrently: leave it.
    }
  }
  return removed;
}
