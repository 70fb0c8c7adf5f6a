let target = '';

/** Receives the URL `import … from 'cairn'` must resolve to. */
export async function initialize(data: { url: string }): Promise<void> {
  target = data.url;
}

/** Resolves the bare specifier 'cairn' to this installation's library, wherever the script lives. */
export async function resolve(
  specifier: string,
  context: unknown,
  next: (s: string, c: unknown) => Promise<unknown>,
): Promise<unknown> {
  if (specifier === 'cairn') return { url: target, shortCircuit: true, format: 'module' };
  return next(specifier, context);
}
