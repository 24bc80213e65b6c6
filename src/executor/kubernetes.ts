// KUBERNETES_POD: the same bot definition as a ConfigMap (its files) plus a Pod or Deployment,
// validated offline against the Kubernetes schema and applied through the API when a kubeconfig exists.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { EngineError } from '../errors.js';
import { optionalImport } from '../optional.js';
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import type { Bot } from './bot.js';
import type { Backend, BotStatus } from './types.js';

const DEFAULT_IMAGES: Record<string, string> = { '.py': 'python:3.12-slim', '.js': 'node:20-slim', '.mjs': 'node:20-slim', '.sh': 'busybox:1.36' };
const INTERPRETER: Record<string, string[]> = { '.py': ['python3', '-u'], '.js': ['node'], '.mjs': ['node'], '.sh': ['sh'] };
const MAX_CONFIGMAP = 900 * 1024; // ConfigMaps hold at most 1 MiB

type Manifest = Record<string, unknown> & { kind: string; metadata: { name: string; namespace: string; labels: Record<string, string> } };

/** The bot's files for its ConfigMap, and the entry file to run. */
function botFiles(bot: Bot, script: string): { files: Record<string, string>; entry: string } {
  const src = resolve(script);
  if (!existsSync(src)) throw new EngineError('INVALID_CONFIG', `Invalid bot ${bot.name}: the script ${script} does not exist`);
  const files: Record<string, string> = {};
  let entry: string;
  if (statSync(src).isDirectory()) {
    for (const f of readdirSync(src)) if (statSync(join(src, f)).isFile()) files[f] = readFileSync(join(src, f), 'utf8');
    entry = ['main.py', 'bot.py', 'index.js', 'main.js'].find((f) => files[f]) ?? Object.keys(files)[0];
  } else {
    entry = basename(src);
    files[entry] = readFileSync(src, 'utf8');
  }
  const size = Object.values(files).reduce((n, t) => n + Buffer.byteLength(t), 0);
  if (size > MAX_CONFIGMAP) throw new EngineError('INVALID_CONFIG', `Invalid bot ${bot.name}: its files (${size} bytes) exceed what a ConfigMap holds; build an image and set deployment.image`);
  return { files, entry };
}

const cpuQuantity = (cpus: number) => `${Math.round(cpus * 1000)}m`;
const memQuantity = (bytes: number) => `${Math.ceil(bytes / 1024 / 1024)}Mi`;

/**
 * Generate the manifests: a ConfigMap of the script's files plus a Pod (or a Deployment when the policy
 * restarts always). A bot that names an image runs that image as it is, with no ConfigMap.
 */
export function manifests(bot: Bot): Manifest[] {
  const d = bot.deployment;
  const fromImage = bot.script === undefined; // the schema gives every bot a script or an image
  const { files, entry } = bot.script === undefined ? { files: {}, entry: '' } : botFiles(bot, bot.script);
  const ext = extname(entry);
  const image = bot.image ?? d.image ?? DEFAULT_IMAGES[ext];
  if (!image) throw new EngineError('INVALID_CONFIG', `Invalid bot ${bot.name}: deployment.image is needed for a ${ext || 'extension-less'} entry`);
  const labels = { 'app.kubernetes.io/name': bot.name, 'app.kubernetes.io/managed-by': 'codex32' };
  const meta = (name: string) => ({ name, namespace: d.namespace, labels });
  const limits: Record<string, string> = {};
  if (d.limits.memory) limits.memory = memQuantity(d.limits.memory);
  if (d.limits.cpus) limits.cpu = cpuQuantity(d.limits.cpus);
  // the pod's writable layer, logs and emptyDirs: the kubelet evicts a pod past it
  if (d.storage_size) limits['ephemeral-storage'] = memQuantity(d.storage_size);
  const env = Object.entries({ ...bot.env, ...(typeof d.port === 'number' ? { PORT: String(d.port) } : {}) }).map(([name, value]) => ({ name, value }));
  const container: Record<string, unknown> = {
    name: 'bot',
    image,
    // an image keeps its own entrypoint and working directory; args replace its Cmd, as `codex32 run` does
    ...(fromImage ? (bot.args.length ? { args: bot.args } : {}) : { command: bot.args.length ? bot.args : [...(INTERPRETER[ext] ?? []), `/app/${entry}`], workingDir: '/app' }),
    env,
    resources: Object.keys(limits).length ? { limits, requests: limits } : undefined,
    volumeMounts: fromImage ? undefined : [{ name: 'app', mountPath: '/app', readOnly: true }],
    securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: d.isolation === 'strict' ? true : undefined, runAsUser: d.isolation === 'strict' ? 65534 : undefined, readOnlyRootFilesystem: d.isolation === 'strict' ? true : undefined, capabilities: { drop: ['ALL'] } },
  };
  if (d.health)
    container.livenessProbe = { exec: { command: ['sh', '-c', d.health.cmd] }, periodSeconds: Math.max(1, Math.round(d.health.interval)), timeoutSeconds: Math.max(1, Math.round(d.health.timeout)), failureThreshold: d.health.retries, initialDelaySeconds: Math.round(d.health.startPeriod) };
  if (typeof d.port === 'number') container.ports = [{ containerPort: d.port, name: 'http' }];
  const podSpec = fromImage ? { containers: [container] } : { containers: [container], volumes: [{ name: 'app', configMap: { name: `${bot.name}-files` } }] };
  const configMaps: Manifest[] = fromImage ? [] : [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`${bot.name}-files`), data: files }];
  const restart = d.restart.name;
  if (restart === 'always' || restart === 'unless-stopped') {
    return [...configMaps, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(bot.name),
      spec: { replicas: 1, selector: { matchLabels: { 'app.kubernetes.io/name': bot.name } }, template: { metadata: { labels }, spec: { ...podSpec, restartPolicy: 'Always' } } },
    }];
  }
  return [...configMaps, { apiVersion: 'v1', kind: 'Pod', metadata: meta(bot.name), spec: { ...podSpec, restartPolicy: restart === 'on-failure' ? 'OnFailure' : 'Never' } }];
}

/** Validate each manifest against the Kubernetes schema, offline; returns them. */
export async function validatedManifests(bot: Bot): Promise<Manifest[]> {
  const list = JSON.parse(JSON.stringify(manifests(bot))) as Manifest[]; // drop undefined fields
  const [{ ConfigMap, Pod }, { Deployment }] = await optionalImport('kubernetes-models', 'Validating KUBERNETES_POD manifests', () => Promise.all([import('kubernetes-models/v1'), import('kubernetes-models/apps/v1')]));
  for (const m of list) {
    const Model = m.kind === 'ConfigMap' ? ConfigMap : m.kind === 'Pod' ? Pod : Deployment;
    try {
      new Model(m as never).validate();
    } catch (e) {
      throw new EngineError('INVALID_CONFIG', `The ${m.kind} generated for bot ${bot.name} is not valid Kubernetes: ${(e as Error).message}`, { cause: e });
    }
  }
  return list;
}

/** The kubeconfig in use, or a clear error saying how to give one. */
function kubeconfigPath(): string {
  const p = process.env.KUBECONFIG ?? join(homedir(), '.kube', 'config');
  if (!existsSync(p))
    throw new EngineError('HOST_UNSUPPORTED', `No kubeconfig found (${p}). Set KUBECONFIG to a cluster's config to deploy KUBERNETES_POD bots; \`codex32 bot manifest NAME\` prints the manifests meanwhile.`);
  return p;
}

async function client() {
  const path = kubeconfigPath();
  const k8s = await optionalImport('@kubernetes/client-node', 'Deploying KUBERNETES_POD bots', () => import('@kubernetes/client-node'));
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return { k8s, kc, objects: k8s.KubernetesObjectApi.makeApiClient(kc), core: kc.makeApiClient(k8s.CoreV1Api) };
}

/** KUBERNETES_POD: bots as pods on the cluster the kubeconfig names. */
export class KubernetesBackend implements Backend {
  async run(bot: Bot): Promise<void> {
    const list = await validatedManifests(bot);
    const { objects } = await client();
    for (const m of list) {
      try {
        await objects.read(m as never);
        await objects.patch(m as never, undefined, undefined, 'codex32', undefined, 'application/apply-patch+yaml' as never);
      } catch {
        await objects.create(m as never);
      }
    }
  }

  async stop(bot: Bot): Promise<void> {
    const list = await validatedManifests(bot);
    const { objects } = await client();
    for (const m of list.reverse()) await objects.delete(m as never).catch(() => undefined);
  }

  async restart(bot: Bot): Promise<void> {
    await this.stop(bot);
    await this.run(bot);
  }

  async status(bot: Bot): Promise<BotStatus> {
    const base = { name: bot.name, type: 'KUBERNETES_POD' as const, restarts: 0 };
    try {
      kubeconfigPath();
    } catch (e) {
      return { ...base, status: 'not-deployed', detail: (e as Error).message };
    }
    const { core } = await client();
    const pods = await core.listNamespacedPod({ namespace: bot.deployment.namespace, labelSelector: `app.kubernetes.io/name=${bot.name}` });
    const pod = pods.items[0];
    if (!pod) return { ...base, status: 'not-deployed' };
    const cs = pod.status?.containerStatuses?.[0];
    return { ...base, status: (pod.status?.phase ?? 'unknown').toLowerCase(), restarts: cs?.restartCount ?? 0, detail: pod.metadata?.name };
  }

  async *logs(bot: Bot, options: LogOptions): AsyncGenerator<LogRecord> {
    const { core } = await client();
    const pods = await core.listNamespacedPod({ namespace: bot.deployment.namespace, labelSelector: `app.kubernetes.io/name=${bot.name}` });
    const pod = pods.items[0]?.metadata?.name;
    if (!pod) return;
    const text = await core.readNamespacedPodLog({ name: pod, namespace: bot.deployment.namespace, tailLines: options.tail, timestamps: true });
    for (const line of String(text).split('\n').filter(Boolean)) {
      const sp = line.indexOf(' ');
      const time = line.slice(0, sp);
      yield { time, ms: Date.parse(time), stream: 'stdout', full: true, data: Buffer.from(line.slice(sp + 1)) };
    }
  }

  async stats(): Promise<undefined> {
    return undefined; // a cluster's metrics server is the source; not read here
  }

  async remove(bot: Bot): Promise<void> {
    if (existsSync(process.env.KUBECONFIG ?? join(homedir(), '.kube', 'config'))) await this.stop(bot);
  }
}
