// The setup of an incremental-update test: a signing key, a store that builds and exports, a store that fetches,
// and nginx serving DIR/srv, where exports are published under one name (the file is replaced whole, as a
// release server replaces it: the file and its .cidx renamed into place).
import { mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { cliKit, type CliKit } from './cli.js';
import { installLocalKey, testKey } from './flat.js';
import { startNginx, type Nginx } from './nginx.js';
import { removeTree, requirePeers, tempDir } from './peers.js';

/** A running update setup; close() stops nginx and removes everything. */
export interface UpdateRig {
  dir: string;
  env: NodeJS.ProcessEnv;
  build: CliKit;
  fetcher: CliKit;
  nginx: Nginx;
  /** Exports image with build's store and publishes it as srv/NAME (+ NAME.cidx); the file's path there. */
  publish(image: string, name: string): string;
  close(): Promise<void>;
}

/** Starts an update setup in a fresh temp dir named by prefix; env is added to both stores' environment. */
export async function updateRig(prefix: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<UpdateRig> {
  requirePeers('nginx');
  const dir = tempDir(prefix);
  const srv = path.join(dir, 'srv');
  mkdirSync(srv);
  const env = { XDG_CONFIG_HOME: path.join(dir, 'config'), ...extraEnv };
  installLocalKey(path.join(dir, 'config'), testKey(dir, 'signer'));
  const build = cliKit(`${prefix}build-`, env);
  const fetcher = cliKit(`${prefix}fetch-`, env);
  const nginx = await startNginx(srv, dir);
  return {
    dir,
    env,
    build,
    fetcher,
    nginx,
    publish(image, name) {
      const out = path.join(dir, 'out.tar.gz');
      build.ok(['export', image, out]);
      renameSync(out + '.cidx', path.join(srv, `${name}.cidx`));
      renameSync(out, path.join(srv, name));
      return path.join(srv, name);
    },
    async close() {
      await nginx.stop();
      build.cleanup();
      fetcher.cleanup();
      removeTree(dir);
    },
  };
}
