import { describe, expect, it } from 'vitest';
import { Authenticator, basicAuth, parseTokenAnswer, pullScope } from '../../../dsl/registry/auth.js';
import { RegistryError } from '../../../dsl/registry/errors.js';

/** A token server in a function: what each request asked, and the answers it gives in turn. */
function tokenServer(answers: { status: number; body: object }[]) {
  const asked: { url: URL; authorization?: string }[] = [];
  const fetch = async (url: string, authorization: string | undefined) => {
    asked.push({ url: new URL(url), authorization });
    const a = answers[Math.min(asked.length - 1, answers.length - 1)];
    return { status: a.status, body: Buffer.from(JSON.stringify(a.body)) };
  };
  return { asked, fetch };
}

const CHALLENGE = 'Bearer realm="https://auth.example/token",service="reg"';
const alice = async () => ({ username: 'alice', password: 'pw', source: 'test' });
const nobody = async () => undefined;

describe('Authenticator', () => {
  it('fetches a token for the scope once and keeps it until it expires', async () => {
    let now = 1_000_000;
    const t = tokenServer([{ status: 200, body: { token: 'T1', expires_in: 300 } }, { status: 200, body: { access_token: 'T2' } }]);
    const a = new Authenticator('reg', alice, t.fetch, () => now);
    const scope = pullScope('team/app');
    await a.learn(CHALLENGE);
    expect(a.header(scope)).toBeUndefined();
    expect(await a.answer(CHALLENGE, scope)).toBe(true);
    expect(a.header(scope)).toBe('Bearer T1');
    expect(t.asked[0].url.searchParams.get('service')).toBe('reg');
    expect(t.asked[0].url.searchParams.get('scope')).toBe('repository:team/app:pull');
    expect(t.asked[0].url.searchParams.get('account')).toBe('alice');
    expect(t.asked[0].authorization).toBe(basicAuth({ username: 'alice', password: 'pw' }));
    expect(a.header(pullScope('other'))).toBeUndefined();
    now += 295_000;
    expect(a.header(scope)).toBeUndefined();
    expect(await a.answer(CHALLENGE, scope)).toBe(true);
    expect(a.header(scope)).toBe('Bearer T2');
    expect(t.asked.length).toBe(2);
  });

  it('shares one token request between requests refused at the same time', async () => {
    const t = tokenServer([{ status: 200, body: { token: 'T', expires_in: 300 } }]);
    const a = new Authenticator('reg', alice, t.fetch);
    const scope = pullScope('x');
    expect(await Promise.all([a.answer(CHALLENGE, scope), a.answer(CHALLENGE, scope), a.answer(CHALLENGE, scope)])).toEqual([true, true, true]);
    expect(t.asked.length).toBe(1);
    expect(a.header(scope)).toBe('Bearer T');
  });

  it('asks anonymously without credentials, and words a refusal', async () => {
    const t = tokenServer([{ status: 401, body: {} }]);
    const a = new Authenticator('reg', nobody, t.fetch);
    await expect(a.answer(CHALLENGE, pullScope('x'))).rejects.toThrow(RegistryError);
    expect(t.asked[0].authorization).toBeUndefined();
    await expect(a.answer(CHALLENGE, pullScope('x'))).rejects.toThrow(/refused an anonymous token \(401\)/);
  });

  it('answers Basic with the credentials once, and nothing without them', async () => {
    const t = tokenServer([]);
    const basic = 'Basic realm="r"';
    const a = new Authenticator('reg', alice, t.fetch);
    expect(await a.answer(basic, 's')).toBe(true);
    expect(a.header('s')).toBe(basicAuth({ username: 'alice', password: 'pw' }));
    expect(await a.answer(basic, 's')).toBe(false);
    const b = new Authenticator('reg', nobody, t.fetch);
    expect(await b.answer(basic, 's')).toBe(false);
    expect(await b.answer(undefined, 's')).toBe(false);
    expect(t.asked).toEqual([]);
  });

  it('reads token answers', () => {
    expect(parseTokenAnswer(Buffer.from('{"token":"a","expires_in":10}'))).toEqual({ token: 'a', expiresIn: 10 });
    expect(parseTokenAnswer(Buffer.from('{"access_token":"b"}'))).toEqual({ token: 'b', expiresIn: 60 });
    expect(parseTokenAnswer(Buffer.from('{"token":""}'))).toBeUndefined();
    expect(parseTokenAnswer(Buffer.from('nope'))).toBeUndefined();
  });
});
