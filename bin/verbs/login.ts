import { CairnError, login, loginUser, UsageError } from '../../dsl/index.js';
import { bool, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn login`: check credentials against a registry and store them, as podman login. */
export const spec: VerbSpec = {
  name: 'login',
  usage: 'login [--username USER] [--password PASS | --password-stdin] [--authfile FILE] [--tls-verify=false] [--cert-dir DIR] [--get-login] REGISTRY',
  summary:
    'Log in to a registry (HOST[:PORT], or HOST[:PORT]/NAMESPACE): the credentials are checked against it, then stored in ' +
    '${XDG_RUNTIME_DIR}/containers/auth.json (or --authfile, $REGISTRY_AUTH_FILE, or the credential helper the file names). ' +
    'Missing values are asked for on a terminal, the password without echo.',
  example: 'printf %s "$TOKEN" | cairn login --username ci --password-stdin registry.example.com',
  flags: {
    username: { kind: 'string', alias: ['-u'], help: 'the user name', arg: 'USER' },
    password: { kind: 'string', alias: ['-p'], help: 'the password (visible to other users in the process list: prefer --password-stdin)', arg: 'PASS' },
    'password-stdin': { kind: 'bool', help: 'read the password from stdin (one trailing newline is dropped)' },
    authfile: { kind: 'string', help: 'the auth file to write (default $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json)', arg: 'FILE' },
    'tls-verify': { kind: 'bool', help: 'verify the registry\'s TLS certificate (default true; =false also allows plain HTTP)' },
    'cert-dir': { kind: 'string', help: 'directory of *.crt CAs and NAME.cert/NAME.key client pairs for the registry', arg: 'DIR' },
    'get-login': { kind: 'bool', help: 'print the user name stored for the registry and change nothing' },
  },
  min: 1,
  max: 1,
};

/** Reads all of stdin. */
async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** Asks on the terminal: the user name with echo (the stored one as default), the password without. */
async function ask(what: 'username' | 'password', suggested?: string): Promise<string> {
  if (what === 'username') {
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = (await rl.question(`Username${suggested ? ` (${suggested})` : ''}: `)).trim();
      return answer || suggested || '';
    } finally {
      rl.close();
    }
  }
  process.stderr.write('Password: ');
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new CairnError('interrupted at the password prompt', { hint: 'nothing was written' }));
        typed = ch === '\u007f' || ch === '\b' ? typed.slice(0, -1) : typed + ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Logs in, or prints the stored user with --get-login. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const registry = p.args[0];
  const authfile = str(p, 'authfile');
  if (bool(p, 'get-login')) return ctx.out(await loginUser(registry, { authfile }));
  let password = str(p, 'password');
  const username = str(p, 'username');
  if (bool(p, 'password-stdin')) {
    if (password !== undefined) throw new UsageError('--password and --password-stdin exclude each other');
    if (username === undefined) throw new UsageError('--password-stdin needs --username');
    password = (await readStdin()).replace(/\r?\n$/, '');
  }
  const verify = p.flags['tls-verify'];
  const terminal = !ctx.embedded && process.stdin.isTTY === true && typeof process.stdin.setRawMode === 'function';
  const r = await login(registry, { username, password, authfile, tlsVerify: typeof verify === 'boolean' ? verify : undefined, certDir: str(p, 'cert-dir'), ask: terminal ? ask : undefined });
  if (!ctx.quiet) process.stderr.write(r.reused ? `already logged in to ${r.registry} as ${r.username} (${r.storedIn})\n` : `logged in to ${r.registry} as ${r.username} (stored in ${r.storedIn})\n`);
}
