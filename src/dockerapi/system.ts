// /_ping, /version and /info in docker's shapes, with what codex32 really is and has.
import { cpus, hostname, totalmem } from 'node:os';
import type { ApiRoute } from './server.js';
import { API_VERSION, MIN_VERSION } from './version.js';

const VERSION = '0.1.0';

function ping(): ApiRoute['handler'] {
  return async (req, res) => {
    res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    res.setHeader('Pragma', 'no-cache');
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': req.method === 'HEAD' ? 0 : 2 });
    res.end(req.method === 'HEAD' ? undefined : 'OK');
  };
}

/** JSON 200 with a body (the shape every read endpoint answers with). */
export function sendJson(res: Parameters<ApiRoute['handler']>[1], doc: unknown, status = 200): void {
  const body = JSON.stringify(doc);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
}

const arch = () => (process.arch === 'x64' ? 'amd64' : process.arch);

export const systemRoutes: ApiRoute[] = [
  { method: 'GET', path: '/_ping', handler: ping() },
  {
    method: 'GET',
    path: '/version',
    handler: async (req, res) => {
      const kernel = req.engine.info().kernel;
      const details = { ApiVersion: API_VERSION, MinAPIVersion: MIN_VERSION, GitCommit: 'codex32', GoVersion: `node${process.versions.node}`, Os: 'linux', Arch: arch(), BuildTime: '', Experimental: 'false', KernelVersion: kernel };
      sendJson(res, {
        Platform: { Name: 'codex32' },
        Components: [{ Name: 'Engine', Version: VERSION, Details: details }],
        Version: VERSION,
        ApiVersion: API_VERSION,
        MinAPIVersion: MIN_VERSION,
        GitCommit: 'codex32',
        GoVersion: `node${process.versions.node}`,
        Os: 'linux',
        Arch: arch(),
        KernelVersion: kernel,
        Experimental: false,
        BuildTime: '',
      });
    },
  },
  {
    method: 'GET',
    path: '/info',
    handler: async (req, res) => {
      const info = req.engine.info();
      const all = await req.engine.list({ all: true });
      const paused = all.filter((c) => c.status === 'running' && c.state.paused).length;
      const running = all.filter((c) => c.status === 'running').length - paused;
      const stopped = all.length - running - paused;
      const c = info.cgroup.controllers;
      sendJson(res, {
        ID: `codex32-${hostname()}`,
        Containers: all.length,
        ContainersRunning: running,
        ContainersPaused: paused,
        ContainersStopped: stopped,
        Images: req.engine.images().length,
        Driver: 'overlay',
        // what `docker info` lists under the storage driver: the quota behind --storage-opt size, and strict's layers
        DriverStatus: [['Backing Filesystem', 'codex32 image store'], ['Disk Quota', info.diskQuota.mechanism], ['Strict Layers', info.strictLayers.mode]],
        Plugins: { Volume: ['local'], Network: ['host', 'none', 'private'], Authorization: null, Log: ['json-file'] },
        MemoryLimit: !!c.memory,
        SwapLimit: !!c.memory,
        CpuCfsPeriod: !!c.cpu,
        CpuCfsQuota: !!c.cpu,
        CPUShares: !!c.cpu,
        CPUSet: false,
        PidsLimit: !!c.pids,
        IPv4Forwarding: true,
        BridgeNfIptables: false,
        BridgeNfIp6tables: false,
        Debug: false,
        NFd: 0,
        OomKillDisable: false,
        NGoroutines: 0,
        SystemTime: new Date().toISOString(),
        LoggingDriver: 'json-file',
        CgroupDriver: info.cgroupV2?.manager ?? 'cgroupfs',
        CgroupVersion: info.cgroup.version === 'v2' ? '2' : '1',
        NEventsListener: 0,
        KernelVersion: info.kernel,
        OperatingSystem: 'codex32 (daemonless)',
        OSVersion: '',
        OSType: 'linux',
        Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
        IndexServerAddress: 'https://index.docker.io/v1/',
        RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'], Mirrors: [] },
        NCPU: cpus().length,
        MemTotal: totalmem(),
        DockerRootDir: info.storageDir,
        HttpProxy: '',
        HttpsProxy: '',
        NoProxy: '',
        Name: hostname(),
        Labels: [`codex32.isolation=${info.defaultIsolation}`],
        ExperimentalBuild: false,
        ServerVersion: VERSION,
        Runtimes: { codex32: { path: 'codex32-shim' } },
        DefaultRuntime: 'codex32',
        Swarm: { LocalNodeState: 'inactive', NodeID: '', NodeAddr: '', ControlAvailable: false, Error: '', RemoteManagers: null },
        LiveRestoreEnabled: true,
        Isolation: '',
        InitBinary: '',
        ContainerdCommit: { ID: '', Expected: '' },
        RuncCommit: { ID: '', Expected: '' },
        InitCommit: { ID: '', Expected: '' },
        // docker's own mark of a rootless daemon
        SecurityOptions: ['name=seccomp,profile=default', 'name=no-new-privileges', ...(info.rootless ? ['name=rootless'] : [])],
        Warnings: [],
      });
    },
  },
];
