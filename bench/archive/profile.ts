// Where a worker process's CPU goes: a V8 CPU profile (node:inspector's
// Profiler, the same sampler as `node --cpu-prof`) summarised by self time,
// grouped by where the code lives (a package, Node's internals, Strata's own
// modules, the garbage collector) and by function.

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Sampled time, ms (idle excluded): wall time between samples, so on a busy machine it includes time waiting for a core. */
  busyMs: number;
  idleMs: number;
  /** Self time by where the code lives. */
  groups: Array<{ name: string; ms: number; share: number }>;
  /**
   * Each sample charged to the nearest library frame on its stack (walking
   * from the leaf towards the root past Node's internals and native
   * builtins): who caused the time, e.g. a socket write made by postgres.js.
   */
  callers: Array<{ name: string; ms: number; share: number }>;
  functions: Array<{ name: string; where: string; ms: number; share: number }>;
}

/** Groups that only carry out work for a caller (charged to the caller in `callers`). */
const isPlumbing = (group: string) => group.startsWith('Node internals') || group === 'native builtins';

/** Where a script lives, as a short group name. */
export function groupOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'garbage collector';
    if (functionName === '(program)') return 'V8 / native (program)';
    if (functionName === '(idle)') return 'idle';
    return 'native builtins';
  }
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = path.slice(modules + '/node_modules/'.length).split('/');
    const name = parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
    if (name.startsWith('@aws-sdk/') || name.startsWith('@smithy/') || name.startsWith('@aws-crypto/') || name === 'fast-xml-parser') return 'AWS SDK v3 (@aws-sdk, @smithy, @aws-crypto, fast-xml-parser)';
    if (name === 'postgres') return 'postgres.js (the Postgres driver)';
    return `package ${name}`;
  }
  if (path.startsWith('node:')) {
    const module = path.slice('node:'.length).replace(/^internal\//, '').split('/')[0]!.replace(/\.js$/, '');
    return `Node internals (${module})`;
  }
  const shared = path.indexOf('/supabase/functions/_shared/');
  if (shared >= 0) return `Strata ${path.slice(shared + '/supabase/functions/_shared/'.length)}`;
  const bench = path.indexOf('/bench/');
  if (bench >= 0) return `bench ${path.slice(bench + 1)}`;
  return path;
}

export function summariseProfile(profile: CpuProfile, top = 12): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const callerOf = (id: number): string => {
    const leaf = byId.get(id)!.callFrame;
    const leafGroup = groupOf(leaf.url, leaf.functionName);
    if (!isPlumbing(leafGroup)) return leafGroup;
    for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (!frame.url && !frame.functionName) continue;
      const group = groupOf(frame.url, frame.functionName);
      if (!isPlumbing(group) && group !== 'V8 / native (program)' && group !== 'garbage collector') return group;
    }
    return leafGroup;
  };
  const selfUs = new Map<number, number>();
  // timeDeltas[i + 1] is the time from sample i to the next: charge it to sample i.
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + Math.max(0, delta));
  }
  const groups = new Map<string, number>();
  const callers = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; us: number }>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)!;
    const group = groupOf(callFrame.url, callFrame.functionName);
    if (group === 'idle') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    groups.set(group, (groups.get(group) ?? 0) + us);
    const caller = callerOf(id);
    callers.set(caller, (callers.get(caller) ?? 0) + us);
    const name = callFrame.functionName || '(anonymous)';
    const file = callFrame.url.replace(/^file:\/\//, '').split('/').pop();
    const short = (g: string) => g.replace(/ \(.*$/, '');
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(callFrame.url)?.[1];
    const where = (callFrame.url ? `${pkg ?? short(group)}, ${file}:${callFrame.lineNumber + 1}` : group) + (caller !== group ? `, for ${short(caller)}` : '');
    const key = `${name}@${callFrame.url}:${callFrame.lineNumber}@${caller}`;
    const entry = functions.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const share = (us: number) => (busyUs > 0 ? us / busyUs : 0);
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    groups: [...groups].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000, share: share(us) })),
    callers: [...callers].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000, share: share(us) })),
    functions: [...functions.values()].sort((a, b) => b.us - a.us).slice(0, top).map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, share: share(f.us) })),
  };
}
