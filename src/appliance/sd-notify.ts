// systemd readiness and watchdog. Node cannot send a unix datagram, so each message goes through
// `systemd-notify --pid=<our pid>` (the unit says NotifyAccess=all: the datagram carries the helper's PID). Never
// --no-block: systemd-notify then waits until systemd has read the message (sd_notify_barrier, systemd >= 246), so
// the helper's exit cannot make it unattributable (docs/operations.md). The watchdog ping is sent from a timer on
// the event loop: a wedged loop stops the pings and systemd restarts the service after WatchdogSec.

import { execFile } from 'node:child_process';

export interface Notifier {
  /** READY=1 after every socket is bound. */
  ready(status?: string): void;
  stopping(): void;
  reloading(): void;
  /** Starts the watchdog pings when systemd asked for them (WATCHDOG_USEC for our pid); returns a stop function. */
  startWatchdog(): () => void;
}

type Run = (args: string[]) => void;

const defaultRun: Run = (args) => {
  execFile('systemd-notify', args, () => undefined);
};

/** A notifier that does nothing outside systemd (no NOTIFY_SOCKET). `run` is injectable for tests. */
export function systemdNotifier(env: NodeJS.ProcessEnv, pid = process.pid, run: Run = defaultRun): Notifier {
  const on = env.NOTIFY_SOCKET !== undefined && env.NOTIFY_SOCKET !== '';
  const send = (...states: string[]): void => {
    if (on) run([`--pid=${pid}`, ...states]);
  };
  return {
    ready: (status) => send('--ready', ...(status !== undefined ? [`STATUS=${status}`] : [])),
    stopping: () => send('STOPPING=1'),
    reloading: () => send('RELOADING=1'),
    startWatchdog: () => {
      const usec = Number(env.WATCHDOG_USEC);
      const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === pid;
      if (!on || !Number.isFinite(usec) || usec <= 0 || !forUs) return () => undefined;
      // Half the interval, as sd_watchdog_enabled(3) recommends.
      const timer = setInterval(() => send('WATCHDOG=1'), Math.max(500, Math.floor(usec / 2000)));
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
