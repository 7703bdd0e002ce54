/**
 * A private `redis-server` on a free loopback port, for `batchinfer run` on a laptop and
 * for the test suite. It keeps nothing on disk unless asked and is stopped afterwards.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { RedisUnavailableError } from '../shared/errors.js';
import { REDIS_DIR_PREFIX, writeOwner } from './stale-redis-dirs.js';

export const REDIS_HELP =
  'batchinfer needs Redis: set REDIS_URL=redis://host:6379, or install redis-server ' +
  '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) so it can start a private one';

export interface LocalRedis {
  /** `redis://` (or `rediss://` with TLS), with the password when one is set. */
  url: string;
  port: number;
  dir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Kills the server and removes its folder at once, synchronously (a forced exit). */
  killNow(): void;
  /**
   * Stops the server and starts it again on the same port and data directory. SIGTERM lets
   * Redis flush its append-only file; SIGKILL simulates a crash.
   */
  restart(signal?: NodeJS.Signals): Promise<void>;
}

/** PEM files for a TLS-only server (`--tls-port`; the plain port is closed). */
export interface LocalRedisTls {
  certFile: string;
  keyFile: string;
  /** The CA that signed `certFile`; clients verify the server against it. */
  caFile: string;
}

export interface LocalRedisOptions {
  /** Append-only file persistence, so a restart keeps the queue. @defaultValue false */
  persistence?: boolean;
  /**
   * When the append-only file is fsynced (with `persistence`): `always`, as the shipped
   * manifests run it (an acknowledged write survives a node crash), or `everysec` (up to a
   * second of acknowledged writes lost if the machine, not only Redis, goes down).
   * @defaultValue 'always'
   */
  appendfsync?: 'always' | 'everysec';
  binary?: string;
  /** `--requirepass`: clients must authenticate (the URL carries it). @defaultValue none */
  password?: string;
  /** Serve TLS only, for `rediss://` URLs. @defaultValue plain TCP */
  tls?: LocalRedisTls;
}

/**
 * util-linux's `setpriv --pdeathsig`: the kernel sends redis-server SIGTERM when the process
 * that started it dies, SIGKILL included, so a killed `run` leaves no Redis behind. Where
 * it is missing (macOS), the next `run` stops the orphan (stale-redis-dirs.ts).
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((candidate) => existsSync(candidate));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A liveness probe: PONG, or NOAUTH from a server that wants a password, means it is up. */
function waitForPort(port: number, child: ChildProcess, timeoutMs: number, ca?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) {
        // 127: setpriv could not find the binary, as a shell reports a missing command.
        reject(new RedisUnavailableError(child.exitCode === 127 ? REDIS_HELP : `redis-server exited with code ${child.exitCode}`));
        return;
      }
      const socket = ca ? tls.connect({ port, host: '127.0.0.1', ca }) : net.connect(port, '127.0.0.1');
      socket.once(ca ? 'secureConnect' : 'connect', () => {
        socket.write('PING\r\n');
        socket.once('data', (data: Buffer) => {
          socket.destroy();
          const reply = data.toString();
          if (reply.startsWith('+PONG') || reply.startsWith('-NOAUTH')) resolve();
          else retry();
        });
      });
      socket.once('error', () => {
        socket.destroy();
        retry();
      });
    };
    const retry = (): void => {
      if (Date.now() > deadline) reject(new RedisUnavailableError(`redis-server did not answer on port ${port}`));
      else setTimeout(attempt, 25);
    };
    attempt();
  });
}

export async function startLocalRedis(options: LocalRedisOptions = {}): Promise<LocalRedis> {
  const binary = options.binary ?? 'redis-server';
  const dir = await mkdtemp(path.join(os.tmpdir(), REDIS_DIR_PREFIX));
  const port = await freePort();
  const listenArgs = options.tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        options.tls.certFile,
        '--tls-key-file',
        options.tls.keyFile,
        '--tls-ca-cert-file',
        options.tls.caFile,
        '--tls-auth-clients',
        'no',
      ]
    : ['--port', String(port)];
  const ca = options.tls ? await readFile(options.tls.caFile, 'utf8') : undefined;
  // The password goes in a config file in the private (0700) temp dir, not on the command
  // line, where any local user could read it from the process list.
  const configFile = path.join(dir, 'redis.conf');
  await writeFile(configFile, options.password ? `requirepass ${JSON.stringify(options.password)}\n` : '', { mode: 0o600 });
  const args = [
    configFile,
    ...listenArgs,
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.persistence ? 'yes' : 'no',
    '--appendfsync',
    options.appendfsync ?? 'always',
    '--daemonize',
    'no',
    // Redis acts on SIGTERM in its cron, which runs `hz` times a second: at the default 10 a
    // private Redis took 80-95 ms to stop, the last thing a `run` waits for; at 100, 8-15 ms
    // (idle, it costs ~4 ms of CPU a second more: 50 ms in 10 s against 20 ms, measured here).
    '--hz',
    '100',
    '--loglevel',
    'warning',
  ];
  let child: ChildProcess;

  async function launch(): Promise<void> {
    // Its own process group: a terminal's Ctrl-C reaches only `run`, which stops Redis
    // after the consumers have drained into it.
    child = SETPRIV
      ? spawn(SETPRIV, ['--pdeathsig', 'TERM', '--', binary, ...args], { stdio: 'ignore', detached: true })
      : spawn(binary, args, { stdio: 'ignore', detached: true });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'ENOENT' ? new RedisUnavailableError(REDIS_HELP) : new RedisUnavailableError(err.message)),
      );
    });
    await spawned;
    await waitForPort(port, child, 10_000, ca);
    // Lets a later run tell whether this folder's owner is gone (stale-redis-dirs.ts).
    await writeOwner(dir, { pid: process.pid, ...(child.pid ? { redisPid: child.pid } : {}) });
  }

  function kill(signal: NodeJS.Signals): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(signal);
    });
  }

  await launch();
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    url: `${options.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      await kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    killNow() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(signal: NodeJS.Signals = 'SIGTERM') {
      await kill(signal);
      await launch();
    },
  };
}
