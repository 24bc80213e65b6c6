// A client for the OCI distribution API v2: bearer and basic auth, manifests and blobs, clear errors.
import type { Readable } from 'node:stream';
import { EngineError } from '../errors.js';
import { send, type HttpResponse } from './http.js';
import type { Credentials } from './auth.js';
import { isLoopbackRegistry } from './reference.js';

export interface RegistryOptions {
  /** false allows plain HTTP to a registry that is not on loopback */
  tlsVerify: boolean;
  credentials?: Credentials;
  /** repository:NAME:ACTIONS scope asked of a token server */
  actions: 'pull' | 'pull,push';
}

/** Parse a WWW-Authenticate header: the scheme and its key="value" parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^(\w+)\s*(.*)$/s.exec(header.trim());
  const params: Record<string, string> = {};
  for (const p of (m?.[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) params[p[1].toLowerCase()] = p[2];
  return { scheme: (m?.[1] ?? '').toLowerCase(), params };
}

/** One repository on one registry. */
export class RegistryClient {
  readonly base: string;
  private authorization?: string;

  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly options: RegistryOptions,
  ) {
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    const plain = isLoopbackRegistry(registry) || !options.tlsVerify;
    this.base = `${plain ? 'http' : 'https'}://${host}/v2/`;
  }

  private fail(res: HttpResponse, what: string, body: string): EngineError {
    const detail = body.slice(0, 200).replace(/\s+/g, ' ').trim();
    if (res.status === 401 || res.status === 403)
      return new EngineError('REGISTRY_UNAUTHORIZED', `The registry ${this.registry} refused access to ${what} (${res.status}). Run \`codex32 login ${this.registry}\` with an account that may ${this.options.actions.replace(',', ' and ')} ${this.repository}.`);
    if (res.status === 404) return new EngineError('NO_SUCH_IMAGE', `The registry ${this.registry} has no ${what} (404${detail ? `: ${detail}` : ''}).`);
    return new EngineError('REGISTRY_ERROR', `The registry ${this.registry} failed on ${what}: HTTP ${res.status}${detail ? ` ${detail}` : ''}.`);
  }

  /** Get a token for a Bearer challenge (with credentials when logged in), or use Basic. */
  private async authenticate(challenge: string): Promise<void> {
    const { scheme, params } = parseChallenge(challenge);
    const basic = this.options.credentials ? `Basic ${Buffer.from(`${this.options.credentials.username}:${this.options.credentials.password}`).toString('base64')}` : undefined;
    if (scheme === 'basic') {
      if (!basic) throw new EngineError('REGISTRY_UNAUTHORIZED', `The registry ${this.registry} needs a login. Run \`codex32 login ${this.registry}\`.`);
      this.authorization = basic;
      return;
    }
    if (scheme !== 'bearer' || !params.realm) throw new EngineError('REGISTRY_ERROR', `The registry ${this.registry} asked for an authentication scheme codex32 does not speak: \`${challenge.slice(0, 80)}\``);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? `repository:${this.repository}:${this.options.actions}`);
    const res = await this.send(url.toString(), { method: 'GET', headers: basic ? { authorization: basic } : {} }, 'a token');
    const text = await res.text();
    if (!res.ok) throw this.fail(res, 'a token', text);
    let token: string | undefined;
    try {
      const doc = JSON.parse(text) as { token?: string; access_token?: string };
      token = doc.token ?? doc.access_token;
    } catch {
      /* below */
    }
    if (!token) throw new EngineError('REGISTRY_ERROR', `The token server of ${this.registry} answered without a token: \`${text.slice(0, 80)}\``);
    this.authorization = `Bearer ${token}`;
  }

  private async send(url: string, init: Parameters<typeof send>[1], what: string): Promise<HttpResponse> {
    try {
      return await send(url, init);
    } catch (cause) {
      const c = cause as { code?: string; message?: string };
      throw new EngineError('REGISTRY_ERROR', `Cannot reach the registry ${this.registry} for ${what}: ${c.code ?? c.message}.`, { cause });
    }
  }

  /** A request on path (relative to /v2/), answering one auth challenge; non-2xx answers become errors. */
  async request(method: string, path: string, what: string, init: { headers?: Record<string, string>; body?: () => Buffer | string | Readable; allow?: number[] } = {}): Promise<HttpResponse> {
    const url = path.startsWith('http') ? path : this.base + path;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...init.headers };
      if (this.authorization) headers.authorization = this.authorization;
      const res = await this.send(url, { method, headers, body: init.body?.() }, what);
      if (res.status === 401 && attempt === 0 && res.headers.get('www-authenticate')) {
        await res.buffer().catch(() => undefined);
        await this.authenticate(res.headers.get('www-authenticate')!);
        continue;
      }
      if (res.ok || init.allow?.includes(res.status)) return res;
      throw this.fail(res, what, await res.text().catch(() => ''));
    }
  }

  /** Check that the registry accepts these credentials (GET /v2/). */
  async ping(): Promise<void> {
    const res = await this.request('GET', '', 'its API root');
    await res.buffer();
  }
}
