#!/usr/bin/env node
// The strata CLI. The sources are TypeScript; tsx loads them under Node.
import { register } from 'tsx/esm/api';

register();
// The AWS SDK warns on every run that its 2027 releases need Node 22; the
// versions Strata pins support Node 20, so keep the CLI's output clean.
const defaultWarning = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'NodeVersionSupportWarning') return;
  for (const listener of defaultWarning) listener(warning);
});
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
