/**
 * The Gemini method suffix after `models/{model}`: `:generateContent`, or
 * `:streamGenerateContent?alt=sse` for a stream (without `alt=sse` Gemini streams one JSON array),
 * merged with a query already on the base URL. Shared by AI Studio and Vertex.
 */
export function generateVerb(stream: boolean, baseSearch: string): string {
  const query = new URLSearchParams(baseSearch);
  if (stream) query.set('alt', 'sse');
  const q = query.toString();
  return `${stream ? ':streamGenerateContent' : ':generateContent'}${q === '' ? '' : `?${q}`}`;
}
