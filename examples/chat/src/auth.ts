// Sign up, sign in and sign out with supabase-js (locally: the stack's own
// GoTrue routes). The rest of the page follows the session.
import type { Session, SupabaseClient } from '@supabase/supabase-js';
import { act, byId } from './ui.ts';

export function authView(supabase: SupabaseClient, hooks: { onSignedIn(): void; onSignedOut(): void }): void {
  const section = byId('auth');
  const app = byId('app');
  const form = byId<HTMLFormElement>('auth-form');
  const email = byId<HTMLInputElement>('email');
  const password = byId<HTMLInputElement>('password');
  const sessionStatus = byId('session');
  const signOut = byId<HTMLButtonElement>('sign-out');
  let userId: string | null = null;

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
    void act(submitter, async () => {
      const credentials = { email: email.value.trim(), password: password.value };
      if (submitter?.value === 'sign-up') {
        const { data, error } = await supabase.auth.signUp(credentials);
        if (error) throw error;
        // A project that confirms e-mails answers without a session.
        if (!data.session) sessionStatus.textContent = `Signed up as ${credentials.email}: confirm your e-mail, then sign in.`;
      } else {
        const { error } = await supabase.auth.signInWithPassword(credentials);
        if (error) throw error;
      }
      password.value = '';
    });
  });

  signOut.addEventListener('click', () =>
    void act(signOut, async () => {
      const { error } = await supabase.auth.signOut();
      if (error) throw error;
    }),
  );

  const render = (session: Session | null) => {
    section.hidden = !!session;
    app.hidden = !session;
    signOut.hidden = !session;
    sessionStatus.textContent = session ? `Signed in as ${session.user.email ?? session.user.id}.` : 'Not signed in.';
    const next = session?.user.id ?? null;
    if (next === userId) return; // a refreshed token, not another user
    userId = next;
    if (next) hooks.onSignedIn();
    else hooks.onSignedOut();
  };
  // Called at once with the stored session (INITIAL_SESSION), then on each
  // change. supabase-js asks not to await its calls inside the callback.
  supabase.auth.onAuthStateChange((_event, session) => {
    setTimeout(() => render(session), 0);
  });
}
