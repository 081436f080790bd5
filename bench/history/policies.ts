// The two policy variants: the RLS policies of public.conversations and
// public.messages as migrated (`(select auth.uid())`), or rewritten in place
// to a bare `auth.uid()`, and back.
import type postgres from 'postgres';
import type { Variant } from './settings.ts';

type PolicyRow = { tablename: string; policyname: string; qual: string | null; with_check: string | null };

export interface PolicySwitch {
  /** The policies as migrated, read before any rewrite. */
  original: PolicyRow[];
  /** Rewrites every policy of the two tables in place (alter policy: same name, command, roles). */
  setPolicies(variant: Variant): Promise<void>;
  /** How many expressions the bare variant changed (0 until it ran). */
  rewritten(): number;
}

export async function createPolicySwitch(admin: postgres.Sql): Promise<PolicySwitch> {
  const policyTables = ['conversations', 'messages'];
  const readPolicies = () => admin<PolicyRow[]>`
    select tablename, policyname, qual, with_check from pg_policies
     where schemaname = 'public' and tablename in ${admin(policyTables)} order by tablename, policyname`;
  const original = [...(await readPolicies())];
  // Postgres prints `uid()` without its schema when `auth` is on the reader's
  // search_path (supabase_admin's is, as on Supabase).
  const SUBSELECT = /\(\s*SELECT\s+(?:auth\.)?uid\(\)\s+AS\s+uid\s*\)/gi;
  const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
  let rewritten = 0;
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
      const left = now.filter((p) => /select\s+(?:auth\.)?uid\(\)/i.test(`${p.qual ?? ''} ${p.with_check ?? ''}`)).length;
      if (left !== 0 || changed === 0) throw new Error(`the bare variant did not take (${left} policies still sub-select, ${changed} rewritten)`);
      rewritten = changed;
    }
  };
  return { original, setPolicies, rewritten: () => rewritten };
}
