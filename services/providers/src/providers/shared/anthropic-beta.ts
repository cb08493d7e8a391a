/** The client's `anthropic-beta` header as a list of beta names (comma-separated on the wire). */
export function anthropicBetas(clientHeaders: Readonly<Record<string, string>>): string[] {
  const raw = clientHeaders['anthropic-beta'];
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
