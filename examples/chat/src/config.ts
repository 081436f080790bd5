// The stack this page talks to, from Vite's `define` (see ../serve.ts).
export interface StackConfig {
  apiUrl: string;
  anonKey: string;
}

export function stackConfig(): StackConfig | null {
  if (typeof __STRATA_API_URL__ !== 'string' || typeof __STRATA_ANON_KEY__ !== 'string') return null;
  return { apiUrl: __STRATA_API_URL__, anonKey: __STRATA_ANON_KEY__ };
}
