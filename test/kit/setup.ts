import { execFileSync } from 'node:child_process';

/** Compiles the project once before the suite, so the CLI under test is the current source. */
export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
