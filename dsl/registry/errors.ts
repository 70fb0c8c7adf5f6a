import { BadInputError, CairnError, NotFoundError } from '../core/errors.js';
import { idleTimeoutMs } from './http.js';
import { errorCode } from './retry.js';

/** A registry refused or failed a request (auth, an unexpected status, the network); status is the HTTP one, if any. */
export class RegistryError extends CairnError {
  /** The HTTP status, when the registry answered. */
  status?: number;
}

/** The first error of a distribution-spec error body (`{"errors":[{"code","message"}]}`), as `CODE: message`. */
export function registryMessage(body: Buffer | undefined): string | undefined {
  if (!body || body.length === 0) return undefined;
  try {
    const v = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    const e = Array.isArray(v.errors) ? v.errors[0] : undefined;
    if (!e) return undefined;
    const code = typeof e.code === 'string' ? e.code : undefined;
    const msg = typeof e.message === 'string' ? e.message : undefined;
    return [code, msg].filter(Boolean).join(': ') || undefined;
  } catch {
    return undefined;
  }
}

/** Where the credential options are, for the hint of a refused request. */
const CREDS_HINT = 'give --creds USER:PASS or --authfile FILE, or put the registry in ${XDG_RUNTIME_DIR}/containers/auth.json or ~/.docker/config.json';

/**
 * The error for a final non-success status of a request about `what` (`image docker://…`, `blob sha256:… of
 * docker://…`): 404 is NotFoundError, 401/403 a RegistryError hinting at credentials, others a RegistryError
 * with the registry's own message.
 */
export function statusError(status: number, what: string, body: Buffer | undefined, hadCredentials: boolean): CairnError {
  const said = registryMessage(body);
  const detail = said ? ` (${said})` : '';
  let e: CairnError;
  if (status === 404) {
    e = new NotFoundError(`${what} not found: the registry has no such repository, tag or blob${detail}`, { hint: 'check the name and tag (`skopeo list-tags docker://HOST/REPO` lists tags)' });
  } else if (status === 401) {
    e = new RegistryError(`${what}: the registry refused access (401 unauthorized${hadCredentials ? ', credentials not accepted' : ', no credentials given'})${detail}`, { hint: CREDS_HINT });
  } else if (status === 403) {
    e = new RegistryError(`${what}: access denied (403 forbidden)${detail}`, { hint: hadCredentials ? 'the credentials given may not read this repository' : CREDS_HINT });
  } else if (status === 429) {
    e = new RegistryError(`${what}: the registry keeps answering 429 too many requests${detail}`, { hint: 'wait and try again later, or log in (anonymous pulls are often rate-limited)' });
  } else {
    e = new RegistryError(`${what}: the registry answered HTTP ${status}${detail}`, { hint: status >= 500 ? 'the registry has a problem: try again later' : 'check the reference' });
  }
  if (e instanceof RegistryError) e.status = status;
  return e;
}

/** TLS error codes of a certificate that does not verify. */
const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH/;

/** True when err says the server's certificate did not verify. */
export function isCertError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && CERT_CODES.test(code);
}

/** True when err says TLS was spoken to something that does not (a plain-HTTP registry). */
export function isNotTls(err: unknown): boolean {
  const code = errorCode(err);
  const msg = err instanceof Error ? err.message + String((err as { cause?: Error }).cause?.message ?? '') : '';
  return code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(msg);
}

/** Why a network call failed, in words: a timeout says how long nothing came, other errors their message. */
export function networkReason(err: unknown): string {
  const code = errorCode(err);
  const secs = `${idleTimeoutMs() / 1000} s`;
  if (code === 'UND_ERR_BODY_TIMEOUT') return `the connection stalled: no data for ${secs}`;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return `no answer for ${secs}`;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'connecting timed out';
  return (err as Error)?.message ?? String(err);
}

/** A network failure talking to host, in one line with what to do. */
export function networkError(host: string, err: unknown): CairnError {
  const code = errorCode(err);
  const why = networkReason(err);
  if (isCertError(err)) {
    return new RegistryError(`cannot verify the TLS certificate of ${host} (${code})`, { hint: 'give its CA with --cert-dir DIR (a directory of *.crt files, as /etc/containers/certs.d/HOST:PORT), or --tls-verify=false', cause: err });
  }
  if (isNotTls(err)) return new RegistryError(`${host} does not speak TLS`, { hint: 'a plain-HTTP registry needs --tls-verify=false', cause: err });
  if (code === 'ECONNREFUSED') return new RegistryError(`cannot connect to registry ${host}: connection refused`, { hint: 'check the host and port, and that the registry runs', cause: err });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new RegistryError(`cannot find registry host ${host}`, { hint: 'check the name and the network', cause: err });
  return new RegistryError(`network error talking to ${host}: ${why}${code && !why.includes(code) && !code.startsWith('UND_ERR_') ? ` (${code})` : ''}`, { hint: 'check the network and try again', cause: err });
}

/** The error of bytes that do not hash to what they were fetched by. */
export function digestMismatch(digest: string, what: string): BadInputError {
  return new BadInputError(`registry sent bytes that do not match ${digest} (${what})`, { hint: 'the registry or something between it and cairn is corrupting data; nothing was stored' });
}
