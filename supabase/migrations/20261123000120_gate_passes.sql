-- Gate passes: how Strata's own code tells a trigger "let this through"
-- (the worker's final delete of an archived conversation, the expiry purge,
-- a user's erasure, a restore). A pass is a row here for the current
-- transaction, written only by Strata's functions: the API roles cannot read
-- or write this table, and cannot forge the transaction id. Transaction
-- settings (set_config) are never used for this: any session can set them.
-- Passes vanish with a rolled-back transaction; the ones left by committed
-- transactions are pruned on a schedule.

create table private.gate_passes (
  txid xid8 not null default pg_current_xact_id(),
  gate text not null,
  -- The row (or user) the pass is for; null: every row of this gate in the transaction.
  subject uuid,
  constraint gate_passes_gate_check
    check (gate in ('delete_conversation', 'delete_file', 'delete_analysis', 'erase_user', 'restore'))
);
comment on table private.gate_passes is
  'Per-transaction passes through Strata''s delete gates and limits. Written only by Strata''s functions.';
create index gate_passes_txid_idx on private.gate_passes (txid, gate);
alter table private.gate_passes enable row level security;
revoke all on private.gate_passes from public, anon, authenticated, service_role;

-- Opens a gate for the rest of this transaction. Internal.
create or replace function private.open_gate(gate_name text, subject_id uuid default null)
returns void
language sql
set search_path = ''
as $$
  insert into private.gate_passes (gate, subject) values (gate_name, subject_id)
$$;
comment on function private.open_gate(text, uuid) is
  'Opens a gate for this transaction (for one subject, or all with null). Internal.';

-- Closes what open_gate opened, once the privileged statement is done. Internal.
create or replace function private.close_gate(gate_name text, subject_id uuid default null)
returns void
language sql
set search_path = ''
as $$
  delete from private.gate_passes
   where txid = pg_current_xact_id() and gate = gate_name and subject is not distinct from subject_id
$$;
comment on function private.close_gate(text, uuid) is
  'Closes a gate opened in this transaction. Internal.';

-- Whether this transaction holds a pass for the subject. Internal, for triggers.
create or replace function private.gate_open(gate_name text, subject_id uuid)
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (
    select 1 from private.gate_passes p
     where p.txid = pg_current_xact_id() and p.gate = gate_name
       and (p.subject is null or p.subject = subject_id))
$$;
comment on function private.gate_open(text, uuid) is
  'Whether this transaction holds a pass through the gate for the subject. Internal.';

-- Removes the passes of transactions that have ended (committed ones leave
-- theirs behind, e.g. the BEFORE DELETE trigger on auth.users). Scheduled.
create or replace function private.prune_gate_passes()
returns integer
language sql
set search_path = ''
as $$
  with pruned as (
    delete from private.gate_passes p
     where p.txid <> pg_current_xact_id() and pg_xact_status(p.txid) is distinct from 'in progress'
    returning 1
  ) select count(*)::integer from pruned
$$;
comment on function private.prune_gate_passes() is
  'Deletes passes of transactions that have ended. Scheduled through private.prune_jobs.';
