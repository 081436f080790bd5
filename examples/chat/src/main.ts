// The chat example: supabase-js for Auth, the Strata client for everything
// else, against the stack serve.ts built the page for.
import { createStrataClient } from '@strata/client';
import { createClient } from '@supabase/supabase-js';
import { archiveView } from './archive.ts';
import { authView } from './auth.ts';
import { stackConfig } from './config.ts';
import { conversationsView } from './conversations.ts';
import { filesView } from './files.ts';
import { byId, showError } from './ui.ts';

const config = stackConfig();
if (!config) {
  byId('session').textContent = 'Not configured.';
  showError('This page needs the stack\'s API URL and anon key: serve it with "npm run example" (see examples/chat/README.md).');
} else {
  const supabase = createClient(config.apiUrl, config.anonKey);
  const strata = createStrataClient(supabase);

  const conversations = conversationsView(strata, { onDeleted: (id) => archive.watch(id) });
  const archive = archiveView(strata, { onRestored: (id) => conversations.restored(id) });
  const files = filesView(strata);

  authView(supabase, {
    onSignedIn: () => {
      conversations.refresh().catch(showError);
      files.refresh();
      archive.refresh();
    },
    onSignedOut: () => {
      conversations.reset();
      files.reset();
      archive.reset();
    },
  });
}
