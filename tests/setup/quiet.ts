// The AWS SDK warns that its 2027 releases need Node 22; the pinned versions
// support Node 20. Keep that one warning out of the test output.
import { quietNodeVersionSupportWarning } from '../../src/cli/warnings.ts';

quietNodeVersionSupportWarning();
