// The systemd unit for pxed, built as sections of key/value pairs and serialised (never string-templated), so the
// install command writes ExecStart for wherever pxed lives. Hardening is checked in tests with
// `systemd-analyze security --offline=true` (exposure ≤ 2.0) and `systemd-analyze verify`.

import { PxedError } from '../errors.js';

export type UnitSections = [section: string, entries: [key: string, value: string][]][];

export interface UnitOptions {
  /** Absolute path of the node binary. */
  node: string;
  /** Absolute path of dist/src/cli/main.js. */
  main: string;
  /** Absolute path of the daemon config. */
  config: string;
  /** Absolute state directory; must be /var/lib/<name> (systemd's StateDirectory= under DynamicUser). */
  stateDir: string;
  /** Where the docs are (Documentation=). */
  docs: string;
}

/** Quotes one ExecStart argument per systemd.service(5) "Command lines": double quotes, backslash escapes. */
export function quoteExecArg(arg: string): string {
  if (/[\x00-\x1f\x7f]/.test(arg)) throw new PxedError('SERVICE_BAD_INPUT', `path contains a control character: ${JSON.stringify(arg)}`);
  // `%` starts a specifier and `$` a variable expansion in unit files.
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9/_.,:=@+-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The StateDirectory= value for an absolute state dir under /var/lib. */
export function stateDirectoryName(stateDir: string): string {
  const m = /^\/var\/lib\/([A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*)\/?$/.exec(stateDir);
  if (m === null || m[1]!.split('/').some((p) => p === '.' || p === '..')) {
    throw new PxedError('SERVICE_BAD_INPUT', `--state-dir must be a directory under /var/lib (systemd StateDirectory=), got "${stateDir}"`);
  }
  return m[1]!;
}

export function unitSections(o: UnitOptions): UnitSections {
  const exec = [o.node, o.main, 'serve', '--config', o.config].map(quoteExecArg).join(' ');
  return [
    [
      'Unit',
      [
        ['Description', 'pxed PXE/boot appliance (proxy-DHCP, TFTP, HTTP)'],
        ['Documentation', `file://${o.docs}`],
        ['After', 'network-online.target'],
        ['Wants', 'network-online.target'],
      ],
    ],
    [
      'Service',
      [
        // Readiness after every socket is bound, and the watchdog ping from the event loop, both go through
        // systemd-notify (Node cannot send a unix datagram itself). Its datagrams carry its own PID (it may claim
        // ours only with privileges this unit does not grant), so NotifyAccess=main would drop them: all.
        // docs/operations.md, "systemd notification".
        ['Type', 'notify'],
        ['NotifyAccess', 'all'],
        ['ExecStart', exec],
        ['ExecReload', '/bin/kill -HUP $MAINPID'],
        ['WatchdogSec', '30s'],
        ['Restart', 'on-failure'],
        ['RestartSec', '2s'],
        ['TimeoutStopSec', '75s'],
        ['StateDirectory', stateDirectoryName(o.stateDir)],
        ['StateDirectoryMode', '0700'],
        ['WorkingDirectory', o.stateDir],
        ['Environment', 'NODE_ENV=production'],
        // Binding UDP 67/69/4011 and TCP 80 needs this one capability; broadcasts need only SO_BROADCAST.
        ['AmbientCapabilities', 'CAP_NET_BIND_SERVICE'],
        ['CapabilityBoundingSet', 'CAP_NET_BIND_SERVICE'],
        ['DynamicUser', 'yes'],
        ['NoNewPrivileges', 'yes'],
        ['ProtectSystem', 'strict'],
        ['ProtectHome', 'yes'],
        ['PrivateTmp', 'yes'],
        ['PrivateDevices', 'yes'],
        ['DevicePolicy', 'closed'],
        ['PrivateMounts', 'yes'],
        ['ProtectProc', 'invisible'],
        ['ProcSubset', 'pid'],
        ['ProtectKernelTunables', 'yes'],
        ['ProtectKernelModules', 'yes'],
        ['ProtectKernelLogs', 'yes'],
        ['ProtectControlGroups', 'yes'],
        ['ProtectClock', 'yes'],
        ['ProtectHostname', 'yes'],
        ['RestrictNamespaces', 'yes'],
        ['RestrictRealtime', 'yes'],
        ['RestrictSUIDSGID', 'yes'],
        ['LockPersonality', 'yes'],
        ['RemoveIPC', 'yes'],
        ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX AF_NETLINK'],
        ['SystemCallArchitectures', 'native'],
        ['SystemCallFilter', '@system-service'],
        ['SystemCallFilter', '~@privileged @resources'],
        // A filtered call fails with EPERM instead of killing the process (Node probes setrlimit at start).
        ['SystemCallErrorNumber', 'EPERM'],
        // V8's JIT needs writable+executable memory: MemoryDenyWriteExecute stays off.
        ['UMask', '0077'],
      ],
    ],
    ['Install', [['WantedBy', 'multi-user.target']]],
  ];
}

export function renderUnit(sections: UnitSections): string {
  const out = ['# Written by `pxed service install`; `pxed service install` again rewrites it.'];
  for (const [name, entries] of sections) {
    out.push('', `[${name}]`);
    for (const [k, v] of entries) {
      if (/[\r\n]/.test(v)) throw new PxedError('SERVICE_BAD_INPUT', `unit value for ${k} contains a newline`);
      out.push(`${k}=${v}`);
    }
  }
  return out.join('\n') + '\n';
}
