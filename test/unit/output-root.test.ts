/** The output root holds with symbolic links too, on a real folder tree. */
import { mkdir, mkdtemp, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { isReallyWithinRoot, isWithinRoot } from '../../src/shared/io/sinks/file-sink.js';

let root: string;
let outside: string;

beforeAll(async () => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'bi-root-'));
  root = path.join(base, 'out');
  outside = path.join(base, 'elsewhere');
  await mkdir(path.join(root, 'team'), { recursive: true });
  await mkdir(outside);
  await symlink(outside, path.join(root, 'escape'));
  await symlink(path.join(root, 'team'), path.join(root, 'alias'));
});

const url = (p: string): string => pathToFileURL(p).toString();

describe('output root', () => {
  it('refuses a folder reached through a symbolic link that leaves the root', () => {
    const target = url(path.join(root, 'escape', 'batch'));
    expect(isWithinRoot(target, url(root))).toBe(true); // by its path it looks inside...
    expect(isReallyWithinRoot(target, url(root))).toBe(false); // ...but it is not
  });

  it('accepts links that stay inside, and folders that do not exist yet', () => {
    expect(isReallyWithinRoot(url(path.join(root, 'alias', 'x')), url(root))).toBe(true);
    expect(isReallyWithinRoot(url(path.join(root, 'new', 'deeper')), url(root))).toBe(true);
    expect(isReallyWithinRoot(url(root), url(root))).toBe(true);
  });
});
