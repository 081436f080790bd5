// The AWS SDK warns that its 2027 releases need Node 22; the pinned versions
// support Node 20. Keep that one warning out of the test output.
const defaults = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'NodeVersionSupportWarning') for (const listener of defaults) listener(warning);
});
