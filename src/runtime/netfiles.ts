// /etc/resolv.conf and /etc/hosts of a container with a network namespace of its own.
import { readFileSync } from 'node:fs';
import { GATEWAY } from './nftables.js';

export interface ResolverPlan {
  /** the resolv.conf the container sees */
  resolvConf: string;
  /** the host's loopback resolver the gateway's port 53 must lead to, if the host uses one */
  loopbackDns?: string;
}

/**
 * DNS that works wherever the host's does: the host's servers as they are, except a loopback one
 * (systemd-resolved, dnsmasq), which the container reaches through the gateway's port 53.
 */
export function resolverPlan(dns: string[], hostResolv = readHostResolv()): ResolverPlan {
  const lines = hostResolv.split('\n').map((l) => l.trim());
  const rest = lines.filter((l) => /^(search|domain|options)\s/.test(l));
  if (dns.length) return { resolvConf: [...dns.map((s) => `nameserver ${s}`), ...rest].join('\n') + '\n' };
  const servers = lines.filter((l) => /^nameserver\s+\S+/.test(l)).map((l) => l.split(/\s+/)[1]);
  const v4 = servers.filter((s) => /^\d+\.\d+\.\d+\.\d+$/.test(s));
  const loopback = v4.find((s) => s.startsWith('127.'));
  const out = v4.map((s) => (s.startsWith('127.') ? GATEWAY : s)).filter((s, i, a) => a.indexOf(s) === i);
  return { resolvConf: [...out.map((s) => `nameserver ${s}`), ...rest].join('\n') + '\n', loopbackDns: loopback };
}

function readHostResolv(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/** The container's /etc/hosts: localhost, its own name at its address, and every --add-host. */
export function hostsFile(hostname: string, address: string | undefined, extra: Array<{ host: string; ip: string }>): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  if (address) lines.push(`${address}\t${hostname}`);
  else lines.push(`127.0.1.1\t${hostname}`);
  for (const h of extra) lines.push(`${h.ip}\t${h.host}`);
  return lines.join('\n') + '\n';
}
