// The process's environment in tests that run the engine in-process (it reads variables when a call is made).

type Vars = Record<string, string | undefined>;

/** Sets these variables (undefined: removes them) on process.env itself, keeping it the real environment object. */
function put(vars: Vars): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

/**
 * Runs fn with these environment variables set (undefined: removed), as a CLI call's environment would be,
 * and restores them after. The engine reads them when a call is made (STORAGE_DRIVER when a container is
 * made, SOURCE_DATE_EPOCH at a commit…): never two such calls at once in one file.
 */
export async function withEnv<T>(vars: Vars, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  put(vars);
  try {
    return await fn();
  } finally {
    put(saved);
  }
}

/** Makes process.env what it was when saved (a copy): what a test changed does not reach the next file of its worker. */
export function restoreEnv(saved: Vars): void {
  put(Object.fromEntries(Object.keys(process.env).filter((k) => !(k in saved)).map((k) => [k, undefined])));
  put(saved);
}
