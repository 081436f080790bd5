// Bounded polling for work the server finishes later (archiving, file
// processing): check every `everyMs` while `check` says more is to come, and
// stop after `giveUpAfterMs` without a settled answer (the caller says so).
export interface Poller {
  /** Checks now and keeps checking; while running, extends the deadline. */
  start(): void;
  stop(): void;
}

export function poller(options: {
  check: () => Promise<'settled' | 'in_progress'>;
  everyMs: number;
  giveUpAfterMs: number;
  onGiveUp: () => void;
  onError: (error: unknown) => void;
}): Poller {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let deadline = 0;
  let checking = false;
  let again = false;
  let stopped = true;

  const tick = async () => {
    timer = undefined;
    checking = true;
    let state: 'settled' | 'in_progress' = 'in_progress';
    try {
      state = await options.check();
    } catch (error) {
      options.onError(error);
    } finally {
      checking = false;
    }
    if (stopped) return;
    if (again) {
      again = false;
      timer = setTimeout(tick, 0);
    } else if (state === 'in_progress' && Date.now() < deadline) {
      timer = setTimeout(tick, options.everyMs);
    } else if (state === 'in_progress') {
      stopped = true;
      options.onGiveUp();
    } else {
      stopped = true;
    }
  };

  return {
    start() {
      deadline = Date.now() + options.giveUpAfterMs;
      stopped = false;
      if (checking) again = true;
      else {
        clearTimeout(timer);
        void tick();
      }
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
