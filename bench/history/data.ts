// The history benchmark's data, loaded with generate_series as the superuser
// (supabase_admin): users, live conversations and their messages, one heavy user,
// and (for each sweep) conversations that have already expired.
import type postgres from 'postgres';
import { fmtInt, progress } from '../common.ts';
import { SIZES } from './settings.ts';
import type { Conv } from './sql.ts';

export type LoadConversations = (
  setName: string,
  count: number,
  perConversation: number,
  options?: { expired?: boolean; owner?: number; exact?: boolean },
) => Promise<number>;

export interface Seeded {
  /** The live conversations (the random picks of the latency rounds and the writer). */
  live: Conv[];
  /** The heavy user's conversations (empty when BENCH_HEAVY_CONVERSATIONS=0). */
  heavy: Conv[];
  liveMessages: number;
  heavyTotal: number;
  /** Sizes on disk after loading, as pg_size_pretty prints them. */
  sizes: { conversations: string; messages: string; db: string };
  /** Loads more conversations (the sweeps' expired ones); returns their message count. */
  loadConversations: LoadConversations;
}

/** Creates the bench schema, then loads the users, the live conversations and the heavy user's. */
export async function seed(admin: postgres.Sql): Promise<Seeded> {
  await admin.unsafe(`
    create schema bench;
    create table bench.conv (k integer primary key, id uuid not null, user_id uuid not null, set_name text not null,
                             created_at timestamptz not null, n_msgs integer not null);
    create table bench.users (n integer primary key, id uuid not null);
  `);

  let nextK = 0;
  /**
   * Loads `count` conversations with the next free keys k as set `setName`, as the superuser (supabase_admin):
   * `perConversation` messages each on average (0.25×–1.75×, deterministic; exactly that many
   * when `exact`), owned by user k % users (or by user `owner`). session_replication_role =
   * replica skips triggers and foreign-key checks for this bulk load only (the rows are
   * consistent by construction): messages_before_insert would otherwise update the
   * conversation once per message.
   */
  const loadConversations = async (
    setName: string,
    count: number,
    perConversation: number,
    options: { expired?: boolean; owner?: number; exact?: boolean } = {},
  ) => {
    const from = nextK;
    nextK += count;
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
      insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
      select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', format('user-%s@history-bench.example', g), now(),
             '{"provider": "email", "providers": ["email"]}', '{}', now(), now()
        from generate_series(0, ${heavyOwner}::int) g`;
    await tx`
      insert into bench.users (n, id)
      select (regexp_match(email, '^user-(\\d+)@'))[1]::int, id from auth.users where email like '%@history-bench.example'`;
  });
  const liveMessages = await loadConversations('live', SIZES.conversations, SIZES.messages / SIZES.conversations);
  let heavyTotal = 0;
  if (SIZES.heavyConversations > 0) {
    heavyTotal = await loadConversations('heavy', SIZES.heavyConversations, SIZES.heavyMessages, { owner: heavyOwner, exact: true });
  }

  const live = await admin<Conv[]>`select id, user_id from bench.conv where set_name = 'live' order by k`;
  const heavy = await admin<Conv[]>`select id, user_id from bench.conv where set_name = 'heavy' order by k`;
  const sizes = (await admin<{ conversations: string; messages: string; db: string }[]>`
    select pg_size_pretty(pg_total_relation_size('public.conversations')) as conversations,
           pg_size_pretty(pg_total_relation_size('public.messages')) as messages,
           pg_size_pretty(pg_database_size(current_database())) as db`)[0]!;


  return { live, heavy, liveMessages, heavyTotal, sizes, loadConversations };
}
