const compiled = new Map<string, RegExp | null>();

/** Compiles a model pattern: `*` matches any run of characters; anything else is literal. */
function compile(pattern: string): RegExp | null {
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = pattern.includes('*') ? new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`) : null; // exact names are compared as strings
    compiled.set(pattern, re);
  }
  return re;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

export function isGlob(pattern: string): boolean {
  return pattern.includes('*');
}

/** True when `model` equals `pattern`, or matches it as a `*` glob. */
export function matchesModel(pattern: string, model: string): boolean {
  const re = compile(pattern);
  return re === null ? pattern === model : re.test(model);
}

/** True when any of `patterns` matches `model`. */
export function matchesAnyModel(patterns: readonly string[], model: string): boolean {
  for (const p of patterns) if (matchesModel(p, model)) return true;
  return false;
}
