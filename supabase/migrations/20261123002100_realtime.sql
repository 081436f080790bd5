-- Realtime: where Supabase's supabase_realtime publication exists, publish
-- conversations and messages so a frontend can subscribe to new messages
-- (RLS applies to what each subscriber receives). Elsewhere, nothing to do.
do $$
declare
  t text;
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    return;
  end if;
  foreach t in array array['conversations', 'messages'] loop
    if not exists (select 1 from pg_publication_tables
                    where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = t) then
      execute format('alter publication supabase_realtime add table public.%I', t);
    end if;
  end loop;
end
$$;
