/** Strata's release, reported by the health function. Keep in step with package.json. */
export const STRATA_VERSION = '0.1.0';
