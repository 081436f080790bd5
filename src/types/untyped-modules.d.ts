// Packages that ship no type declarations; only what Strata uses.
declare module 'async-exit-hook' {
  type Hook = ((done: () => void) => void) | (() => void);
  interface ExitHook {
    (hook: Hook): void;
    unhookEvent(event: string): void;
  }
  const exitHook: ExitHook;
  export default exitHook;
}

declare module 's3rver' {
  export default class S3rver {
    constructor(options: {
      address?: string;
      port?: number;
      directory?: string;
      silent?: boolean;
      vhostBuckets?: boolean;
      configureBuckets?: Array<{ name: string; configs: unknown[] }>;
    });
    run(): Promise<unknown>;
    close(): Promise<void>;
    /** Koa's middleware list (S3rver extends Koa); composed when run() starts listening. */
    readonly middleware: unknown[];
  }
}
