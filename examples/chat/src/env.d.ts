// Replaced at build time by Vite's `define` (examples/chat/serve.ts), from the
// stack the page talks to. Left undefined when Vite is run without serve.ts.
declare const __STRATA_API_URL__: string;
declare const __STRATA_ANON_KEY__: string;
