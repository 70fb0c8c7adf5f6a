import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

/**
 * Rewrites an uncompressed layer tar with every mtime clamped to ts (SOURCE_DATE_EPOCH semantics),
 * streaming: used when a layer sealed without a timestamp is committed reproducibly.
 */
export function retimeTar(src: Readable, ts: number): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  const out = new PassThrough();
  extract.on('entry', (header, stream, next) => {
    const h = { ...header };
    if (h.mtime && h.mtime.getTime() > ts * 1000) h.mtime = new Date(ts * 1000);
    delete (h as { atime?: Date }).atime;
    delete (h as { ctime?: Date }).ctime;
    if (h.pax) {
      const pax: Record<string, string> = { ...(h.pax as Record<string, string>) };
      delete pax.atime;
      delete pax.ctime;
      delete pax.mtime;
      h.pax = pax;
    }
    const sink = pack.entry(h, (err) => (err ? extract.destroy(err) : next()));
    stream.pipe(sink);
  });
  extract.on('finish', () => pack.finalize());
  pipeline(src, extract).catch((e) => out.destroy(e));
  pack.on('error', (e) => out.destroy(e));
  pack.pipe(out);
  return out;
}
