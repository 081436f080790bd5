#!/usr/bin/env node
// The strata CLI. The sources are TypeScript; tsx loads them under Node.
import { register } from 'tsx/esm/api';

register();
// The AWS SDK's warning that its 2027 releases need Node 22 stays out of the
// CLI's output (the pinned versions support Node 20); see src/cli/warnings.ts.
const { quietNodeVersionSupportWarning } = await import('../src/cli/warnings.ts');
quietNodeVersionSupportWarning();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
