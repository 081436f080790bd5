// The AWS SDK warns on the first S3 client of every run that its releases
// after January 2027 need Node 22; the versions Strata pins support Node 20.
// It emits a plain Warning (name "Warning") whose message starts with
// "NodeVersionSupportWarning:", so the filter looks at the message too.
// Used by the CLI (bin/strata.mjs) and the tests (tests/setup/quiet.ts).

export function isNodeVersionSupportWarning(warning: Error): boolean {
  return warning.name === 'NodeVersionSupportWarning' || warning.message.startsWith('NodeVersionSupportWarning');
}

/** Keeps Node's own warning output for every warning but that one. Call it once, before the SDK loads. */
export function quietNodeVersionSupportWarning(): void {
  const defaults = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (!isNodeVersionSupportWarning(warning)) for (const listener of defaults) listener(warning);
  });
}
