/** The first value of a header as node and undici give it (a string, a list of them, or nothing). */
export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
