// Block and network I/O of a container for stats: its blkio/io cgroup's byte counts, and its veth's
// counters read from the host end (whose receive is the container's transmit).
import { readFileSync } from 'node:fs';
import { netName } from '../runtime/network.js';
import type { ContainerRow } from '../state/types.js';

export interface BlockIo {
  readBytes: number;
  writeBytes: number;
}

export interface NetIo {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Bytes read and written by the container's processes, from v2 io.stat (rbytes/wbytes per device) or v1
 * blkio.throttle.io_service_bytes (Read/Write per device); undefined where it has no such cgroup.
 */
export function blockIo(row: ContainerRow): BlockIo | undefined {
  for (const dir of row.state.cgroups?.dirs ?? []) {
    const v2 = read(`${dir}/io.stat`);
    if (v2 !== undefined) {
      let readBytes = 0;
      let writeBytes = 0;
      for (const m of v2.matchAll(/\brbytes=(\d+)\b.*?\bwbytes=(\d+)/g)) {
        readBytes += Number(m[1]);
        writeBytes += Number(m[2]);
      }
      return { readBytes, writeBytes };
    }
    const v1 = read(`${dir}/blkio.throttle.io_service_bytes_recursive`) ?? read(`${dir}/blkio.throttle.io_service_bytes`);
    if (v1 !== undefined) {
      const sum = (op: string) => [...v1.matchAll(new RegExp(`^\\d+:\\d+ ${op} (\\d+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
      return { readBytes: sum('Read'), writeBytes: sum('Write') };
    }
  }
  return undefined;
}

/** The container's network counters (private and user networks), from the host end of its veth; undefined without one. */
export function netIo(row: ContainerRow): NetIo | undefined {
  const base = `/sys/class/net/${netName(row.id)}/statistics`;
  const n = (f: string) => Number(read(`${base}/${f}`)?.trim() ?? NaN);
  const hostRx = n('rx_bytes');
  if (Number.isNaN(hostRx)) return undefined;
  // what the host end receives, the container sent
  return {
    rxBytes: n('tx_bytes'), rxPackets: n('tx_packets'), rxErrors: n('tx_errors'), rxDropped: n('tx_dropped'),
    txBytes: hostRx, txPackets: n('rx_packets'), txErrors: n('rx_errors'), txDropped: n('rx_dropped'),
  };
}
