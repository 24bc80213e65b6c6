// The API versions served, and what depends on the version a client asked for.

/** The newest API version served (docker 23-24's); newer clients negotiate down to it through /_ping. */
export const API_VERSION = '1.43';
/** The oldest API version served. */
export const MIN_VERSION = '1.12';

/** "1.41" < "1.5"? Compare dotted versions numerically. */
export function older(a: string, b: string): boolean {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  return x[0] < y[0] || (x[0] === y[0] && (x[1] ?? 0) < (y[1] ?? 0));
}

/** The content type of a stream body: stdcopy frames are named as such from API 1.42 on, as dockerd does. */
export function streamType(version: string, framed: boolean): string {
  return framed && !older(version, '1.42') ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
}
