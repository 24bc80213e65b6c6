// Image references with docker's normalisation: `alpine` is docker.io/library/alpine:latest.
import { EngineError } from '../errors.js';

export interface ImageReference {
  /** registry host[:port], e.g. docker.io or 127.0.0.1:5000 */
  registry: string;
  /** repository path, e.g. library/alpine */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** True when the first path component names a registry (docker's rule: it has a dot or port, or is localhost). */
function isRegistry(part: string): boolean {
  return part.includes('.') || part.includes(':') || part === 'localhost' || /^\[.*\]/.test(part);
}

/** Parse and normalise a reference; refuses anything docker would refuse. */
export function parseReference(input: string): ImageReference {
  const bad = (why: string) =>
    new EngineError('INVALID_CONFIG', `Expected an image reference such as alpine, alpine:3.19 or 127.0.0.1:5000/team/bot@sha256:…, got \`${input}\` (${why})`);
  if (!input || input.length > 4096 || /\s/.test(input)) throw bad('empty or contains spaces');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad('the digest must be sha256: and 64 hex digits');
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad('the tag may hold letters, digits, _ . and -');
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  if (parts.length > 1 && isRegistry(parts[0])) registry = parts.shift()!;
  if (!/^([a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?|\[[0-9a-fA-F:]+\])(:\d{1,5})?$/.test(registry)) throw bad('the registry must be a host name with an optional port');
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  if (!parts.length || parts.some((p) => !COMPONENT.test(p))) throw bad('repository names are lower case letters, digits and separators');
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  if (!tag && !digest) tag = 'latest';
  return { registry, repository: parts.join('/'), tag, digest };
}

/** The repository with its registry, e.g. docker.io/library/alpine. */
export function repoName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The full normalised name: registry/repository:tag (or @digest when there is no tag). */
export function formatReference(ref: ImageReference): string {
  return ref.tag ? `${repoName(ref)}:${ref.tag}` : `${repoName(ref)}@${ref.digest}`;
}

/** docker's short display: docker.io/library/ is left out, other registries are shown. */
export function displayRepo(repo: string): string {
  if (repo.startsWith('docker.io/library/')) return repo.slice('docker.io/library/'.length);
  if (repo.startsWith('docker.io/')) return repo.slice('docker.io/'.length);
  return repo;
}

/** Split a stored `repo:tag` name into its two parts. */
export function splitTagged(name: string): { repo: string; tag: string } {
  const i = name.lastIndexOf(':');
  return { repo: name.slice(0, i), tag: name.slice(i + 1) };
}

/** True when the registry is on a loopback address, which docker reaches over plain HTTP. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.split(':')[0];
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
