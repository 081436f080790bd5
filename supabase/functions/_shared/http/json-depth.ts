// How deeply JSON nests, measured without recursion so that hostile input
// cannot exhaust the stack of the code that measures it.
//
// Postgres parses, prints and compares jsonb recursively and fails with
// "stack depth limit exceeded" (SQLSTATE 54001) at a depth that depends on
// max_stack_depth and on the call stack around it (about 16,000 levels of `[`
// for a bare cast with the default 2 MB, fewer inside triggers and functions),
// below the size limits: 64 kB of metadata holds 32,000 levels. So nesting has
// its own limit, checked at the edge:
//
// - MAX_JSON_DEPTH (32): stored JSON values (conversation and message
//   metadata, analysis data). Real metadata (tool calls with their arguments)
//   nests a handful of levels; 32 leaves room for that and stays two orders
//   of magnitude below what Postgres can hold, even after the archive document
//   wraps message metadata three levels deeper (document → messages → message
//   → metadata), which restore must parse back.
// - MAX_BODY_DEPTH (64): a whole request body, checked on the text before it
//   is parsed, so nothing deeper ever reaches a handler. A body holds one
//   stored value one level down, so 64 never refuses what 32 accepts.
//
// Depth counts objects and arrays: a scalar is 0, {} and [] are 1,
// {"a": [1]} is 2.

export const MAX_JSON_DEPTH = 32;
export const MAX_BODY_DEPTH = 64;

/** True when a parsed JSON value nests more than `limit` objects and arrays deep. */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * True when JSON text opens more than `limit` objects and arrays without
 * closing them (brackets inside strings do not count). For valid JSON this is
 * exactly nestedDeeperThan of the parsed value; on invalid text it only has to
 * stop early, JSON.parse decides the rest.
 */
export function textNestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}
