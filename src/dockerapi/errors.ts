// The one place the Docker API front end turns failures into docker's statuses and messages.
import type { ServerResponse } from 'node:http';
import { isEngineError, renameFields, type ErrorCode } from '../errors.js';

/** A failure with the HTTP status docker's clients expect for it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_CONFIG: 400,
  INVALID_NAME: 400,
  AMBIGUOUS_ID: 400,
  INVALID_IMAGE: 400,
  DIGEST_MISMATCH: 400,
  PLATFORM_MISMATCH: 400,
  NO_SUCH_CONTAINER: 404,
  NO_SUCH_IMAGE: 404,
  NO_SUCH_NETWORK: 404,
  NO_SUCH_PATH: 404,
  NO_SUCH_VOLUME: 404,
  VOLUME_IN_USE: 409,
  NAME_IN_USE: 409,
  IMAGE_EXISTS: 409,
  IMAGE_IN_USE: 409,
  INVALID_STATE: 409,
  REGISTRY_UNAUTHORIZED: 401,
  HOST_UNSUPPORTED: 501,
};

/** The create request's field for each config field an engine error may name (see fieldError). */
export const API_FIELDS: Readonly<Record<string, string>> = {
  publish: 'HostConfig.PortBindings',
  publishAll: 'HostConfig.PublishAllPorts',
  dns: 'HostConfig.Dns',
  addHosts: 'HostConfig.ExtraHosts',
  network: 'HostConfig.NetworkMode',
  networks: 'NetworkingConfig.EndpointsConfig',
  links: 'HostConfig.Links',
  capAdd: 'HostConfig.CapAdd',
  capDrop: 'HostConfig.CapDrop',
  readOnly: 'HostConfig.ReadonlyRootfs',
  subnet: 'IPAM.Config.Subnet',
  gateway: 'IPAM.Config.Gateway',
  'limits.nofile': 'HostConfig.Ulimits nofile',
  oomScoreAdj: 'HostConfig.OomScoreAdj',
  'blkio.weight': 'HostConfig.BlkioWeight',
  seccomp: 'HostConfig.SecurityOpt',
  tmpfs: 'HostConfig.Tmpfs',
  shmSize: 'HostConfig.ShmSize',
  noNewPrivileges: 'HostConfig.SecurityOpt',
  isolation: 'Labels["codex32.isolation"]',
  'limits.memory': 'HostConfig.Memory',
  'limits.cpus': 'HostConfig.NanoCpus',
  'limits.pids': 'HostConfig.PidsLimit',
  hostname: 'Hostname',
  user: 'User',
  workdir: 'WorkingDir',
  env: 'Env',
};

/** What a request named, for docker's "No such container: X" and "No such image: X". */
export interface Named {
  container?: string;
  image?: string;
}

/** Status and message for anything a handler threw: docker's texts where clients read them. */
export function describe(err: unknown, named: Named = {}): { status: number; message: string } {
  if (err instanceof ApiError) return { status: err.status, message: err.message };
  if (isEngineError(err)) {
    // the docker CLI rewrites a 404 to "Error: No such container: x"; docker-py needs "No such image" for ImageNotFound
    if (err.code === 'NO_SUCH_CONTAINER' && named.container) return { status: 404, message: `No such container: ${named.container}` };
    if (err.code === 'NO_SUCH_IMAGE' && named.image) return { status: 404, message: `No such image: ${named.image}` };
    // the docker CLI's run exits 127 or 126 by these words in the message, as for dockerd's runtime errors
    if (err.code === 'COMMAND_NOT_FOUND') return { status: 400, message: `${err.message}: executable file not found in $PATH: no such file or directory` };
    if (err.code === 'COMMAND_NOT_EXECUTABLE') return { status: 400, message: `${err.message}: permission denied` };
    return { status: STATUS[err.code] ?? 500, message: renameFields(err, API_FIELDS) };
  }
  return { status: 500, message: err instanceof Error ? err.message : String(err) };
}

/** Send an error as docker does: JSON {"message"} with exactly `application/json`; 304 has no body. */
export function sendError(res: ServerResponse, err: unknown, named: Named = {}): void {
  const { status, message } = describe(err, named);
  if (res.headersSent) return void res.destroy();
  if (status === 304) return void res.writeHead(304).end();
  const body = JSON.stringify({ message });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
}

/** The same error as a raw HTTP response on a socket that was to be hijacked. */
export function rawError(err: unknown, named: Named = {}): string {
  const { status, message } = describe(err, named);
  const body = JSON.stringify({ message });
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error', 501: 'Not Implemented' };
