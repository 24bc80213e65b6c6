// OpenAPI 3.1 description of the service, served at /openapi.json.

const json = { 'application/json': { schema: { type: 'object' } } };
const ok = (description: string) => ({ description, content: json });
const err = { description: 'error: { error: CODE, message }', content: json };
const id = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'container name, id or id prefix' }];
const name = [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }];
const mut = (summary: string, params = id, extra: Record<string, unknown> = {}) => ({
  summary, parameters: params, security: [{ bearer: [] }], responses: { 200: ok('the resource after the change'), 401: err, 404: err, 409: err }, ...extra,
});
const get = (summary: string, params: unknown[] = []) => ({ summary, parameters: params, responses: { 200: ok(summary), 404: err } });

/** The OpenAPI document. */
export function openapi(version: string) {
  return {
    openapi: '3.1.0',
    info: { title: 'codex32 bot runner', version, description: 'Daemonless containers and bots. Mutating calls need `Authorization: Bearer <token>`.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths: {
      '/': get('service name, version, container engine, deployment types, isolation levels (HTML dashboard for browsers)'),
      '/health': get('engine, database and host capabilities'),
      '/api/containers': {
        get: get('list containers (all=0 for running only)', [{ name: 'all', in: 'query', schema: { type: 'string', enum: ['0', '1'] } }]),
        post: { summary: 'create (and by default start) a container: body is a ContainerConfig plus start', security: [{ bearer: [] }], requestBody: { content: json }, responses: { 201: ok('inspect document'), 400: err, 401: err, 409: err } },
      },
      '/api/containers/{id}': { get: get('inspect (docker shape)', id), delete: mut('remove (force=1 stops it first)', [...id, { name: 'force', in: 'query', schema: { type: 'string' } }] as never) },
      '/api/containers/{id}/start': { post: mut('start') },
      '/api/containers/{id}/stop': { post: mut('stop (t: grace seconds)') },
      '/api/containers/{id}/restart': { post: mut('restart') },
      '/api/containers/{id}/kill': { post: mut('send a signal (signal: number)') },
      '/api/containers/{id}/logs': { get: get('logs (tail, follow=1; Accept: text/event-stream for SSE)', id) },
      '/api/containers/{id}/stats': { get: get('CPU, memory, pids, uptime, restarts', id) },
      '/api/containers/{id}/exec': { post: mut('run a command inside: { cmd: [..], env, workdir }', id, { requestBody: { content: json } }) },
      '/api/containers/{id}/archive': {
        get: get('tar of a path inside the container (path=)', id),
        put: mut('extract a tar (application/x-tar) into a directory (path=)', id, { requestBody: { content: { 'application/x-tar': { schema: { type: 'string', format: 'binary' } } } } }),
      },
      '/api/bots': {
        get: get('bots with status and definition'),
        post: { summary: 'apply one bot, or { bots: [...] } (all or nothing); start=0 to store only', security: [{ bearer: [] }], requestBody: { content: json }, responses: { 201: ok('applied, started, failed'), 400: err, 401: err } },
      },
      '/api/bots/{name}': { get: get('status and definition', name), put: mut('replace the definition', name as never), delete: mut('stop and delete', name as never) },
      '/api/bots/{name}/run': { post: mut('run', name as never) },
      '/api/bots/{name}/stop': { post: mut('stop', name as never) },
      '/api/bots/{name}/restart': { post: mut('restart', name as never) },
      '/api/bots/{name}/status': { get: get('status', name) },
      '/api/bots/{name}/logs': { get: get('logs (tail, follow=1)', name) },
      '/api/bots/{name}/stats': { get: get('usage', name) },
      '/api/bots/{name}/manifest': { get: get('Kubernetes manifests (validated)', name) },
      '/api/stats': { get: get('usage of every running container (CPU % since the previous call)') },
      '/api/host': { get: get("the host's totals: CPUs, CPU % since the previous call, memory total and in use, load") },
      '/api/events': { get: get('events (since=ms); follow=1 streams them as server-sent events', [{ name: 'follow', in: 'query', schema: { type: 'string' } }]) },
    },
  };
}
