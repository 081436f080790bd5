// The pg_net stand-in's sender, in the place of pg_net's background worker
// and, like it, connected as the superuser (supabase_admin). net.http_post
// only queues a row and calls net.wake(), a NOTIFY; Postgres delivers it on
// commit, so a rolled-back request is never sent. Like pg_net, a request is
// taken off the queue before it is sent (at most once) and its outcome is
// written to net._http_response.
import postgres from 'postgres';

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string> | null;
  body: Buffer | null;
  timeout_milliseconds: number;
}

export interface RelayHandle {
  stop(): Promise<void>;
  /** Sends whatever is queued now; resolves when those requests have finished. */
  drain(): Promise<void>;
}

const BATCH = 100;
const POLL_MS = 1000;

/** adminDbUrl: the superuser's connection, as pg_net's worker has. */
export async function startRelay(options: { adminDbUrl: string; log: (line: string) => void }): Promise<RelayHandle> {
  const { adminDbUrl, log } = options;
  const sql = postgres(adminDbUrl, { max: 4, onnotice: () => {}, connection: { application_name: 'strata-dev-relay' } });
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;

  const sendOne = async (request: QueuedRequest) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), request.timeout_milliseconds);
    try {
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers ?? {},
        body: request.body ? new Uint8Array(request.body) : undefined,
        signal: controller.signal,
      });
      const content = await response.text();
      await sql`
        insert into net._http_response (id, status_code, content_type, headers, content, timed_out)
        values (${request.id}, ${response.status}, ${response.headers.get('content-type')},
                ${sql.json(Object.fromEntries(response.headers))}, ${content}, false)`;
    } catch (error) {
      const timedOut = controller.signal.aborted;
      const message = timedOut ? `Timeout of ${request.timeout_milliseconds} ms reached` : String((error as Error).message);
      await sql`
        insert into net._http_response (id, timed_out, error_msg)
        values (${request.id}, ${timedOut}, ${message})`.catch(() => undefined);
      log(`request ${request.id} ${request.method} ${request.url} failed: ${message}`);
    } finally {
      clearTimeout(timer);
    }
  };

  const pump = async () => {
    while (!stopped) {
      const batch = await sql<QueuedRequest[]>`
        delete from net.http_request_queue
         where id in (select id from net.http_request_queue order by id limit ${BATCH} for update skip locked)
        returning id, method, url, headers, body, timeout_milliseconds`;
      if (batch.length === 0) return;
      await Promise.all(batch.map(sendOne));
    }
  };

  // One pump at a time; a wake-up during a pump schedules another round.
  const wake = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await pump().catch((error) => log(`relay error: ${String((error as Error).message ?? error)}`));
      } while (again && !stopped);
      running = null;
    })();
    return running;
  };

  const listener = await sql.listen('strata_net_request', () => void wake());
  // Catches requests committed while the relay was down.
  const timer = setInterval(() => void wake(), POLL_MS);
  await wake();

  return {
    drain: async () => {
      await wake();
      if (running) await running;
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await listener.unlisten().catch(() => undefined);
      if (running) await running;
      await sql.end({ timeout: 2 });
    },
  };
}
