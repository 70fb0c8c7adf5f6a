import { execFileSync } from 'node:child_process';

let built = false;

/** Compiles the project once before the run (once for all its projects), so the CLI under test is the current source. */
export default function setup(): void {
  if (built || process.env.CAIRN_TEST_NO_BUILD) return;
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  built = true;
}
