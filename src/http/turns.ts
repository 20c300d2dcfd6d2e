// A budget of synchronous work per event-loop turn, for the HTTP script fast path (script-fastpath.ts).
//
// Why: Node 20's libuv (>= 1.45, libuv PR #3696) accepts ONE new connection per event-loop turn, and a turn lasts
// until every socket that was readable has been handled. A script render is synchronous (SQLite), so with N
// keep-alive clients each waiting for an answer, one turn is N renders long, and a burst of new connections is
// accepted one per such turn: the k-th waits k turns before its first byte is read (docs/benchmarks.md,
// "Install-script p99": 64 connections, ~15 ms turns, the last accepted ~1 s late). Timers (TFTP retransmits) and
// DHCP datagrams wait for the turn too.
//
// Contract: `run(job)` runs the job at once when nothing is waiting and this turn has spent less than the budget;
// otherwise the job waits in one FIFO queue and runs in a later turn (setImmediate, the check phase), at most a
// budget's worth per turn. Every job runs exactly once, in arrival order among the queued ones; a turn does at most
// one job past the budget. Nothing is left scheduled once the queue is empty. At most `maxWaiting` jobs wait: past
// that a job runs at once, as without the budget. The bound matters: a deferred request writes no response yet, so
// Node's own backpressure on a pipelining client (it stops reading a socket whose answers pile up unread) never
// engages, and one client pipelining requests without reading would otherwise queue them without limit. Jobs must
// not throw (the fast path answers its own errors); if one does, the accounting and the queue carry on and the error
// propagates. `around`, when given, wraps each turn's run of queued jobs, in the turns that run at least one (the fast
// path writes their registry rows in one transaction, script-fastpath.ts); it must call its argument at most once and
// must not throw.

/** Synchronous render time one event-loop turn may spend before the rest waits for the next turn. About three
 * install renders on the reference machine (docs/benchmarks.md): short enough that a burst of 64 new connections is
 * accepted within tens of milliseconds, long enough that the extra turns cost ~1 % of throughput. */
export const TURN_BUDGET_MS = 0.5;
/** Jobs that may wait: the default connection cap (limits.ts), i.e. one waiting request per open connection. */
export const TURN_MAX_WAITING = 512;

export class TurnBudget {
  private readonly queue: Array<() => void> = [];
  private spent = 0;
  private scheduled = false;

  constructor(
    private readonly budgetMs = TURN_BUDGET_MS,
    private readonly now: () => number = () => performance.now(),
    private readonly maxWaiting = TURN_MAX_WAITING,
    private readonly around: ((runQueued: () => void) => void) | null = null,
  ) {}

  /** Jobs waiting for a later turn. */
  get waiting(): number {
    return this.queue.length;
  }

  run(job: () => void): void {
    if ((this.queue.length === 0 && this.spent < this.budgetMs) || this.queue.length >= this.maxWaiting) {
      this.schedule(); // the turn's end resets the budget
      this.timed(job);
    } else {
      this.queue.push(job);
      this.schedule();
    }
  }

  private timed(job: () => void): void {
    const t0 = this.now();
    try {
      job();
    } finally {
      this.spent += this.now() - t0;
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.turnEnd);
  }

  private readonly runQueued = (): void => {
    while (this.queue.length > 0 && this.spent < this.budgetMs) this.timed(this.queue.shift()!);
  };

  /** The check phase of a turn: queued jobs up to what is left of the budget, then a fresh budget for the next turn. */
  private readonly turnEnd = (): void => {
    this.scheduled = false;
    try {
      // Only when a job will run: an empty run would cost the fast path an empty transaction in every turn.
      if (this.queue.length > 0 && this.spent < this.budgetMs) {
        if (this.around === null) this.runQueued();
        else this.around(this.runQueued);
      }
    } finally {
      this.spent = 0;
      if (this.queue.length > 0) this.schedule();
    }
  };
}
