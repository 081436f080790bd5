-- Deployment settings, one row: the TTL policy and every limit the database
-- enforces for every client. The functions read the same limits from their
-- secrets to answer earlier and more clearly, but these are the rules: a
-- signed-in user writing the tables through the Data API meets them too.
-- Change them with SQL (`update private.settings set ...`).

create table private.settings (
  id boolean primary key default true,
  -- Hours a new conversation lives when it sets no expiry; null: no default TTL.
  default_ttl_hours integer,
  -- The longest a conversation may be kept alive from now (create, extend, update).
  max_ttl_hours integer not null default 8760,
  expiry_policy text not null default 'archive',
  expiry_batch_size integer not null default 1000,
  conversation_max_title_chars integer not null default 500,
  -- Message content in UTF-8 bytes; metadata (of messages and conversations) as stored JSON text.
  message_max_content_bytes integer not null default 1048576,
  message_max_metadata_bytes integer not null default 65536,
  -- Deeper JSON cannot be archived and restored within Postgres's stack.
  json_max_depth integer not null default 32,
  file_max_bytes bigint not null default 52428800,
  file_allowed_types text[] not null default array['application/pdf', 'text/plain', 'text/markdown', 'text/csv', 'application/json'],
  -- Per user: uploads announced but not completed, and their declared bytes.
  max_pending_uploads integer not null default 100,
  max_pending_upload_bytes bigint not null default 1073741824,
  -- Finished jobs and expiry runs are kept this long (dead jobs until retried).
  job_retention_hours integer not null default 168,
  -- The sweep sends one wake-up per this many due jobs, at most wake_fanout_max at once.
  wake_jobs_per_worker integer not null default 200,
  wake_fanout_max integer not null default 4,
  constraint settings_single_row check (id),
  constraint settings_default_ttl_check check (default_ttl_hours is null or default_ttl_hours between 1 and max_ttl_hours),
  constraint settings_max_ttl_check check (max_ttl_hours between 1 and 876000),
  constraint settings_expiry_policy_check check (expiry_policy in ('archive', 'delete')),
  constraint settings_batch_check check (expiry_batch_size between 1 and 50000),
  constraint settings_limits_check check (
    conversation_max_title_chars > 0 and message_max_content_bytes > 0 and message_max_metadata_bytes > 1
    and json_max_depth between 1 and 64 and file_max_bytes > 0 and max_pending_uploads >= 0
    and max_pending_upload_bytes >= 0 and job_retention_hours >= 0
    and wake_jobs_per_worker > 0 and wake_fanout_max between 1 and 16)
);
comment on table private.settings is
  'Deployment settings (one row): TTL policy and the limits the database enforces for every client. Change with SQL.';
insert into private.settings default values;
alter table private.settings enable row level security;

-- The settings row, for the security definer triggers that enforce limits.
create or replace function private.current_settings()
returns private.settings
language sql
stable
set search_path = ''
as $$
  select s from private.settings s
$$;
comment on function private.current_settings() is
  'The one settings row. Internal, for triggers.';

-- How deep a JSON value nests (a scalar is 0, {} or [] is 1, {"a": {}} is 2).
-- jsonpath walks the value in C; no recursion in plpgsql.
create or replace function private.json_depth_exceeds(value jsonb, max_depth integer)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select jsonb_path_exists(value, ('strict $.**{' || max_depth || ' to last} ? (@.type() == "object" || @.type() == "array")')::jsonpath)
$$;
comment on function private.json_depth_exceeds(jsonb, integer) is
  'Whether a JSON value has objects or arrays nested more than max_depth levels deep. Internal.';
