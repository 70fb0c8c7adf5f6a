// Real-world Dockerfiles over a real Debian base (mmdebstrap's minbase, stored as a local image), built by
// `cairn build`, checked by running the images, and compared with `buildah build --isolation chroot` of the
// same Dockerfiles: the final root filesystems must hold the same paths with the same type, mode, owner, size,
// link count and content. Everything runs offline.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { debianRootfs } from '../kit/debian.js';
import { compareEntries, rootfsEntries, unexplained, type Allowance, type Entry } from '../kit/dockerfile-rootfs.js';
import { containersKit, removeTree, requirePeers, tempDir, umociUnpack, type ContainersKit } from '../kit/peers.js';

/** The Debian base, under the same name in both stores. */
const BASE = 'localhost/debian:conformance';
/** The secret the app case's build is given; it must appear nowhere in the image. */
const TOKEN = 's3cr3t-Token-7f1e-do-not-ship';

/*
 * What buildah 1.28 (Debian 12's) leaves differently, each checked on cairn's side by the case it concerns.
 * Anything else that differs fails the comparison.
 */
const ALLOWED: Allowance[] = [
  {
    path: /^\/etc\/hosts$/,
    kind: 'only-second',
    reason: "buildah leaves behind the empty file it bound its hosts file on (the base has none); cairn's runs leave nothing in the layer",
  },
  {
    path: /^\/run\/secrets$/,
    kind: 'only-second',
    reason: "buildah leaves the secret mount's directory in the image; cairn leaves no trace of the mount",
  },
  {
    path: /^\/var\/cache\/apt(\/.*)?$/,
    kind: 'only-first',
    reason: "buildah drops a cache mount's target directory from the image, even the base's own /var/cache/apt; cairn keeps the base's, as docker does",
  },
  {
    path: /^\/var\/log\/(dpkg\.log|apt\/history\.log|apt\/term\.log)$/,
    kind: 'differs',
    fields: ['digest', 'size'],
    reason: 'dpkg and apt log the time of the install',
  },
  {
    path: /^\/etc\/group-$/,
    kind: 'differs',
    fields: ['digest'],
    reason:
      "groupadd's backup keeps the size and mtime of the file it replaces, and buildah's vfs layer diff compares only those, so buildah's layer misses the new content",
  },
];

let k: CliKit;
let peers: ContainersKit;
let work: string;
let debTar: string;

/** Writes files (relative path → content, or [content, mode]) into a new context directory named name. */
function context(name: string, files: Record<string, string | [string, number]>): string {
  const dir = path.join(work, name);
  for (const [f, body] of Object.entries(files)) {
    const file = path.join(dir, f);
    mkdirSync(path.dirname(file), { recursive: true });
    const [text, mode] = typeof body === 'string' ? [body, 0o644] : body;
    writeFileSync(file, text);
    chmodSync(file, mode);
  }
  return dir;
}

/** Runs argv in a fresh container of a cairn image (its config's user and working directory); returns trimmed stdout. */
function runIn(image: string, argv: string[]): string {
  const c = k.ok(['from', image]);
  try {
    return k.ok(['run', c, '--', ...argv]);
  } finally {
    k.ok(['rm', c]);
  }
}

/** Exports a cairn image and a buildah image to OCI layouts and unpacks both with umoci; returns their entries. */
function bothTrees(name: string, cairnImage: string, buildahImage: string): { cairn: Map<string, Entry>; buildah: Map<string, Entry>; cairnRoot: string } {
  const dir = path.join(work, `out-${name}`);
  k.ok(['push', cairnImage, `oci:${dir}/cairn:t`]);
  peers.buildahOk(['push', '--quiet', buildahImage, `oci:${dir}/buildah:t`]);
  const cairnRoot = umociUnpack(`${dir}/cairn`, 't', `${dir}/cairn-bundle`);
  const buildahRoot = umociUnpack(`${dir}/buildah`, 't', `${dir}/buildah-bundle`);
  return { cairn: rootfsEntries(cairnRoot), buildah: rootfsEntries(buildahRoot), cairnRoot };
}

/** The differences between cairn's and buildah's trees that no allowance explains, one line each. */
function unexplainedDiffs(trees: { cairn: Map<string, Entry>; buildah: Map<string, Entry> }): string[] {
  return unexplained(compareEntries(trees.cairn, trees.buildah), ALLOWED).map((d) => d.text.replace('the first', 'cairn').replace('the second', 'buildah'));
}

/** The image config fields both builders must agree on. */
function configOf(json: any): Record<string, unknown> {
  const c = json ?? {};
  return { Env: c.Env ?? undefined, Cmd: c.Cmd ?? undefined, Entrypoint: c.Entrypoint ?? undefined, User: c.User ?? '', WorkingDir: c.WorkingDir ?? '' };
}

/** The config of a cairn image and of a buildah image, reduced to configOf(). */
function configs(cairnImage: string, buildahImage: string): { cairn: Record<string, unknown>; buildah: Record<string, unknown> } {
  const ours = JSON.parse(k.ok(['inspect', cairnImage]));
  const theirs = JSON.parse(peers.buildahOk(['inspect', '--type', 'image', buildahImage]));
  return { cairn: configOf(ours.config.config), buildah: configOf(theirs.OCIv1.config) };
}

/** `cairn build` of a context (its Dockerfile unless file is given); throws with stderr on failure. */
function cairnBuild(tag: string, dir: string, extra: string[] = [], file = 'Dockerfile'): string {
  const r = k.cairn(['build', '-t', tag, '-f', path.join(dir, file), ...extra, dir]);
  if (r.status !== 0) throw new Error(`cairn build of ${dir}/${file} exited ${r.status}:\n${r.stderr}`);
  return r.stdout.trim();
}

/** `buildah build --isolation chroot` of a context (its Dockerfile unless file is given). */
function buildahBuild(tag: string, dir: string, extra: string[] = [], file = 'Dockerfile'): void {
  peers.buildahOk(['build', '--isolation', 'chroot', '-t', tag, '-f', path.join(dir, file), ...extra, dir]);
}

beforeAll(async () => {
  requirePeers('buildah', 'umoci', 'mmdebstrap', 'dpkg-deb');
  debTar = await debianRootfs();
  k = cliKit('cairn-interop-dfc-');
  work = tempDir('cairn-interop-dfc-');
  peers = containersKit('cairn-peer-dfc-');
  k.ok(['tag', k.ok(['pull', `tarball:${debTar}`]), BASE]);
  const b = peers.buildahOk(['from', 'scratch']);
  peers.buildahOk(['add', '--quiet', b, debTar, '/']);
  peers.buildahOk(['commit', '--quiet', b, BASE]);
  peers.buildahOk(['rm', b]);
}, 300_000);

afterAll(() => {
  peers?.cleanup();
  k?.cleanup();
  if (work) removeTree(work);
});

describe('a multi-stage build whose final stage is scratch (a compiled program and only what it needs)', () => {
  let dir: string;
  beforeAll(() => {
    dir = context('multistage', {
      'src/hello.sh.in': '#!/bin/sh\necho "hello from @NAME@ @VERSION@"\n',
      Dockerfile: `# The build stage makes the artefact (a program and the shared objects it loads); the final stage holds only that.
FROM ${BASE} AS build
ARG VERSION=1.2.3
WORKDIR /src
COPY src/ ./
RUN mkdir -p /out/app /out/bin \\
 && sed -e "s/@NAME@/cairn/" -e "s/@VERSION@/$VERSION/" hello.sh.in > /out/app/hello \\
 && chmod 0755 /out/app/hello \\
 && cp /bin/dash /bin/cat /out/bin/ && ln -s dash /out/bin/sh \\
 && for lib in $(ldd /bin/dash /bin/cat | awk '$3 ~ /^\\// {print $3} $1 ~ /^\\// {print $1}' | sort -u); do cp --parents -L "$lib" /out/; done

FROM scratch
COPY --from=build /out/ /
USER 65534:65534
ENTRYPOINT ["/app/hello"]
`,
    });
  });

  it('cairn builds it, and the image runs its program and holds nothing else', () => {
    cairnBuild('localhost/dfc-multistage', dir, ['--build-arg', 'VERSION=2.0.1']);
    expect(runIn('localhost/dfc-multistage', ['/app/hello'])).toBe('hello from cairn 2.0.1');
    expect(runIn('localhost/dfc-multistage', ['/bin/sh', '-c', 'cat /app/hello | /bin/cat'])).toContain('echo "hello from cairn 2.0.1"');
    const cfg = JSON.parse(k.ok(['inspect', 'localhost/dfc-multistage'])).config.config;
    expect([cfg.Entrypoint, cfg.User]).toEqual([['/app/hello'], '65534:65534']);
  }, 180_000);

  it('buildah builds the same files', () => {
    buildahBuild('localhost/dfc-multistage', dir, ['--build-arg', 'VERSION=2.0.1']);
    const trees = bothTrees('multistage', 'localhost/dfc-multistage', 'localhost/dfc-multistage');
    expect(unexplainedDiffs(trees)).toEqual([]);
    // only the artefact: no /etc, no /usr, nothing of the build stage
    const top = [...trees.cairn.keys()].filter((p) => p.split('/').length === 2).sort();
    expect(top).toEqual(expect.arrayContaining(['/app', '/bin']));
    expect(top.every((p) => ['/app', '/bin', '/lib', '/lib64'].includes(p))).toBe(true);
    expect(trees.cairn.get('/bin/sh')).toMatchObject({ type: 'l', link: 'dash' });
    // A scratch stage's image gets the default PATH, as buildah and docker give it.
    const c = configs('localhost/dfc-multistage', 'localhost/dfc-multistage');
    expect(c.cairn).toEqual(c.buildah);
    expect(c.cairn.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  }, 300_000);
});

describe('Debian + apt with a cache mount (a package made here, installed offline)', () => {
  let dir: string;
  beforeAll(() => {
    const pkg = path.join(work, 'pkg');
    mkdirSync(path.join(pkg, 'DEBIAN'), { recursive: true });
    mkdirSync(path.join(pkg, 'usr/bin'), { recursive: true });
    mkdirSync(path.join(pkg, 'usr/share/doc/cairn-hello'), { recursive: true });
    writeFileSync(
      path.join(pkg, 'DEBIAN/control'),
      'Package: cairn-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: cairn tests <tests@cairn.invalid>\nDescription: a package built offline for the Dockerfile conformance suite\n',
    );
    writeFileSync(path.join(pkg, 'usr/bin/cairn-hello'), '#!/bin/sh\necho hello from a package\n', { mode: 0o755 });
    chmodSync(path.join(pkg, 'usr/bin/cairn-hello'), 0o755);
    writeFileSync(path.join(pkg, 'usr/share/doc/cairn-hello/copyright'), 'Public domain.\n');
    dir = context('apt', {
      Dockerfile: `FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
COPY cairn-hello_1.0_all.deb /tmp/
# apt's archive lives in a cache mount (kept between steps and builds, never in a layer)
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\
    rm -f /etc/apt/apt.conf.d/docker-clean \\
 && mkdir -p /var/cache/apt/archives/partial \\
 && cp /tmp/cairn-hello_1.0_all.deb /var/cache/apt/archives/ \\
 && apt-get install -y --no-install-recommends /var/cache/apt/archives/cairn-hello_1.0_all.deb \\
 && rm /tmp/cairn-hello_1.0_all.deb
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked ls /var/cache/apt/archives/ > /apt-archives.txt
RUN dpkg-query -W -f '\${Package} \${Version} \${Status}\\n' cairn-hello > /installed.txt
`,
    });
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', pkg, path.join(dir, 'cairn-hello_1.0_all.deb')], { stdio: 'ignore' });
  });

  it('cairn builds it: the package is installed, the cache was shared between steps, and none of it is in the image', () => {
    cairnBuild('localhost/dfc-apt', dir);
    expect(runIn('localhost/dfc-apt', ['cairn-hello'])).toBe('hello from a package');
    expect(runIn('localhost/dfc-apt', ['cat', '/installed.txt', '/apt-archives.txt'])).toBe('cairn-hello 1.0 install ok installed\ncairn-hello_1.0_all.deb\nlock\npartial');
    // the image's /var/cache/apt is the base's, untouched: the .deb stayed in the cache
    expect(runIn('localhost/dfc-apt', ['find', '/var/cache/apt', '-printf', '%p %y %#m %U\\n']).split('\n').sort()).toEqual([
      '/var/cache/apt d 0755 0',
      '/var/cache/apt/archives d 0755 0',
      '/var/cache/apt/archives/lock f 0640 0',
      '/var/cache/apt/archives/partial d 0700 42',
    ]);
    expect(runIn('localhost/dfc-apt', ['test', '!', '-e', '/tmp/cairn-hello_1.0_all.deb'])).toBe('');
  }, 180_000);

  it('buildah builds the same files', () => {
    buildahBuild('localhost/dfc-apt', dir);
    const trees = bothTrees('apt', 'localhost/dfc-apt', 'localhost/dfc-apt');
    expect(unexplainedDiffs(trees)).toEqual([]);
    expect(trees.cairn.get('/usr/bin/cairn-hello')).toMatchObject({ type: 'f', mode: '0755', owner: '0:0' });
    const c = configs('localhost/dfc-apt', 'localhost/dfc-apt');
    expect(c.cairn).toEqual(c.buildah);
  }, 300_000);
});

describe('an app configured by a step that uses a secret', () => {
  let dir: string;
  let secret: string;
  beforeAll(() => {
    secret = path.join(work, 'token');
    writeFileSync(secret, `${TOKEN}\n`, { mode: 0o600 });
    dir = context('app', {
      'app/app.pl': `#!/usr/bin/perl
use strict; use warnings;
open(my $fh, '<', '/opt/app/config.ini') or die "no config: $!";
my %cfg = map { chomp; split /=/, $_, 2 } grep { /=/ } <$fh>;
print "app $cfg{name} $ENV{APP_VERSION} registry=$cfg{registry} auth=$cfg{auth}\\n";
`,
      'app/config.ini.in': 'name=demo\n',
      // buildah 1.28 panics on a bare `required`: the flag is spelled required=true, which both take.
      Dockerfile: `FROM ${BASE}
ARG APP_VERSION=2.0
ENV APP_VERSION=\${APP_VERSION} APP_HOME=/opt/app
WORKDIR /opt/app
COPY app/ ./
RUN groupadd -g 1500 app && useradd -u 1500 -g app -d /opt/app -M -s /usr/sbin/nologin app
# the token authenticates a (simulated) download: only the outcome may reach the image
RUN --mount=type=secret,id=token,required=true \\
    cp config.ini.in config.ini \\
 && echo "registry=https://registry.example.invalid" >> config.ini \\
 && if grep -qx 's3cr3t-[A-Za-z0-9-]*' /run/secrets/token; then echo auth=ok; else echo auth=bad; fi >> config.ini \\
 && rm config.ini.in \\
 && chown -R app:app /opt/app && chmod 0640 config.ini
USER app
CMD ["perl", "/opt/app/app.pl"]
`,
    });
  });

  it('cairn builds it: the app runs as its user, configured with the secret, which is nowhere in the image', () => {
    cairnBuild('localhost/dfc-app', dir, ['--secret', `id=token,src=${secret}`]);
    expect(runIn('localhost/dfc-app', ['perl', '/opt/app/app.pl'])).toBe('app demo 2.0 registry=https://registry.example.invalid auth=ok');
    expect(runIn('localhost/dfc-app', ['sh', '-c', 'id -un; pwd; test ! -e /run/secrets && echo no-secrets-dir'])).toBe('app\n/opt/app\nno-secrets-dir');
    expect(k.ok(['inspect', 'localhost/dfc-app'])).not.toContain(TOKEN);
    // a required secret the build was not given stops it
    const r = k.cairn(['build', '-f', path.join(dir, 'Dockerfile'), dir]);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('no secret token');
  }, 180_000);

  it('buildah builds the same files, and neither image holds the secret', () => {
    buildahBuild('localhost/dfc-app', dir, ['--secret', `id=token,src=${secret}`]);
    const trees = bothTrees('app', 'localhost/dfc-app', 'localhost/dfc-app');
    expect(unexplainedDiffs(trees)).toEqual([]);
    const grep = (root: string) => execFileSync('sh', ['-c', 'grep -rlF -- "$1" "$2" || true', 'sh', TOKEN, root], { encoding: 'utf8' });
    expect(grep(trees.cairnRoot)).toBe('');
    expect(grep(path.join(work, 'out-app/buildah-bundle/rootfs'))).toBe('');
    expect(trees.cairn.get('/opt/app/config.ini')).toMatchObject({ mode: '0640', owner: '1500:1500' });
    // the allowance for /etc/group-: cairn's holds what groupadd backed up, the base's /etc/group
    const baseGroup = execFileSync('tar', ['-xOf', debTar, './etc/group']);
    expect(readFileSync(path.join(trees.cairnRoot, 'etc/group-'))).toEqual(baseGroup);
    const c = configs('localhost/dfc-app', 'localhost/dfc-app');
    expect(c.cairn).toEqual(c.buildah);
  }, 300_000);
});

describe('heredocs (RUN <<EOF, a heredoc read by a command, <<-, COPY <<EOF expanded and quoted, two in one COPY)', () => {
  let dir: string;
  beforeAll(() => {
    dir = context('heredoc', {
      Dockerfile: `FROM ${BASE}
ENV GREETING=hello
ARG TARGET=world
RUN <<EOF
set -e
mkdir -p /etc/app
echo "$GREETING $TARGET" > /etc/app/greeting
EOF
RUN cat <<EOF > /etc/app/cat
from cat $GREETING
EOF
RUN <<-EOF
\techo tabs stripped > /etc/app/tabs
\tEOF
RUN <<EOF
#!/usr/bin/perl
open(my \$f, '>', '/etc/app/perl') or die; print \$f "perl heredoc\\n";
EOF
COPY <<EOF /etc/app/expanded.conf
greeting=\${GREETING}
target=$TARGET
EOF
COPY <<'EOF' /etc/app/literal.conf
greeting=\${GREETING}
EOF
COPY --chmod=0755 <<EOF /usr/local/bin/app
#!/bin/sh
cat /etc/app/greeting
EOF
COPY <<one <<two /etc/app/multi/
first
one
second
two
CMD ["/usr/local/bin/app"]
`,
      // buildah 1.28 has no heredocs (they came in 1.33): it builds this equivalent without them.
      'Dockerfile.plain': `FROM ${BASE}
ENV GREETING=hello
ARG TARGET=world
RUN set -e; mkdir -p /etc/app; echo "$GREETING $TARGET" > /etc/app/greeting
RUN echo "from cat $GREETING" > /etc/app/cat
RUN echo tabs stripped > /etc/app/tabs
RUN echo "perl heredoc" > /etc/app/perl
RUN printf 'greeting=%s\\ntarget=%s\\n' "$GREETING" "$TARGET" > /etc/app/expanded.conf
RUN printf 'greeting=\${GREETING}\\n' > /etc/app/literal.conf
RUN printf '#!/bin/sh\\ncat /etc/app/greeting\\n' > /usr/local/bin/app && chmod 0755 /usr/local/bin/app
RUN mkdir /etc/app/multi && echo first > /etc/app/multi/one && echo second > /etc/app/multi/two
CMD ["/usr/local/bin/app"]
`,
    });
  });

  it('cairn builds it, and the image holds what each heredoc wrote', () => {
    cairnBuild('localhost/dfc-heredoc', dir);
    expect(runIn('localhost/dfc-heredoc', ['/usr/local/bin/app'])).toBe('hello world');
    expect(
      runIn('localhost/dfc-heredoc', ['sh', '-c', 'cd /etc/app && for f in cat tabs perl expanded.conf literal.conf multi/one multi/two; do echo "$f: $(cat $f)"; done']),
    ).toBe('cat: from cat hello\ntabs: tabs stripped\nperl: perl heredoc\nexpanded.conf: greeting=hello\ntarget=world\nliteral.conf: greeting=${GREETING}\nmulti/one: first\nmulti/two: second');
  }, 180_000);

  it('buildah, building the equivalent without heredocs, makes the same files', () => {
    const probe = peers.buildah(['build', '--isolation', 'chroot', '-f', path.join(dir, 'Dockerfile'), dir]);
    const buildahHasHeredocs = probe.status === 0;
    buildahBuild('localhost/dfc-heredoc', dir, [], buildahHasHeredocs ? 'Dockerfile' : 'Dockerfile.plain');
    const trees = bothTrees('heredoc', 'localhost/dfc-heredoc', 'localhost/dfc-heredoc');
    expect(unexplainedDiffs(trees)).toEqual([]);
    expect(trees.cairn.get('/usr/local/bin/app')).toMatchObject({ type: 'f', mode: '0755', owner: '0:0' });
    const c = configs('localhost/dfc-heredoc', 'localhost/dfc-heredoc');
    expect(c.cairn).toEqual(c.buildah);
  }, 300_000);
});

describe('the comparison itself', () => {
  it('finds a file that differs (a check that can fail)', () => {
    const a = new Map<string, Entry>([['/x', { type: 'f', mode: '0644', owner: '0:0', nlink: '1', size: '1', digest: 'aa', link: '' }]]);
    const b = new Map<string, Entry>([['/x', { type: 'f', mode: '0600', owner: '0:0', nlink: '1', size: '1', digest: 'aa', link: '' }]]);
    expect(unexplained(compareEntries(a, b), ALLOWED).map((d) => d.fields)).toEqual([['mode']]);
  });
});
