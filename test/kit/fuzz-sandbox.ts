import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { ancestorsState, plantCanary, snapshot } from './fuzz-tree.js';

/**
 * A sandbox for one fuzz iteration: `S/dest` (what the code under test may change) beside `S/canary` (what it
 * must never reach). Everything beside dest and the alphabet's names in every ancestor up to '/' are listed
 * before and compared after, by inode, mode, link count, owner, size, times and content.
 */
export class Sandbox {
  readonly dir: string;
  readonly dest: string;
  readonly canary: string;
  private before: string[][] = [];

  constructor(base: string, id: number) {
    this.dir = path.join(base, String(id), 's');
    this.dest = path.join(this.dir, 'dest');
    this.canary = path.join(this.dir, 'canary');
    mkdirSync(this.dest, { recursive: true });
    plantCanary(this.canary);
  }

  private state(): string[][] {
    return [snapshot(this.dir, (rel) => rel === 'dest' || rel.startsWith('dest/')), ancestorsState(this.dir)];
  }

  /** Records the state beside dest (call once the fixture is in place). */
  seal(): void {
    this.before = this.state();
  }

  /** Throws unless everything beside dest is as sealed and dest is still a real directory. */
  verify(what: string): void {
    expect(this.state(), `${what}: the canary and everything beside dest are unchanged`).toEqual(this.before);
    expect(lstatSync(this.dest).isDirectory(), `${what}: dest is still a real directory`).toBe(true);
  }

  /** Removes the sandbox (never following links; directories a layer left unsearchable are opened up first). */
  remove(): void {
    openUp(this.dir);
    rmSync(path.dirname(this.dir), { recursive: true, force: true });
  }
}

/** Makes every directory below dir (dir included) rwx for its owner, so a normal user can remove the tree. */
function openUp(dir: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return;
  if ((st.mode & 0o700) !== 0o700) chmodSync(dir, 0o700);
  for (const n of readdirSync(dir)) openUp(path.join(dir, n));
}
