// A small, dependency-free language guess from stopword frequencies. Good
// enough to tag documents (en, de, fr, es, it, pt, nl); 'und' when unsure.
const STOPWORDS: Record<string, string[]> = {
  en: ['the', 'and', 'of', 'to', 'is', 'in', 'that', 'it', 'for', 'with', 'was', 'on', 'are', 'this', 'be', 'you', 'have', 'not'],
  de: ['der', 'die', 'und', 'das', 'ist', 'nicht', 'mit', 'den', 'ein', 'eine', 'zu', 'auf', 'ich', 'sie', 'es', 'für', 'von', 'auch'],
  fr: ['le', 'la', 'les', 'et', 'est', 'des', 'une', 'un', 'pas', 'que', 'pour', 'dans', 'du', 'sur', 'avec', 'il', 'elle', 'nous'],
  es: ['el', 'la', 'los', 'las', 'y', 'es', 'que', 'de', 'en', 'un', 'una', 'por', 'con', 'para', 'no', 'se', 'del', 'al'],
  it: ['il', 'lo', 'la', 'gli', 'che', 'di', 'e', 'è', 'un', 'una', 'per', 'non', 'con', 'sono', 'del', 'della', 'anche', 'come'],
  pt: ['o', 'a', 'os', 'as', 'e', 'é', 'que', 'de', 'do', 'da', 'um', 'uma', 'para', 'com', 'não', 'em', 'por', 'mais'],
  nl: ['de', 'het', 'een', 'en', 'is', 'van', 'dat', 'niet', 'op', 'met', 'voor', 'zijn', 'ik', 'je', 'ook', 'als', 'maar', 'bij'],
};

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu;

export function words(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/** Counts words without building the list (documents can be large). */
export function countWords(text: string): number {
  let count = 0;
  for (const _ of text.matchAll(WORD)) count++;
  return count;
}

export function detectLanguage(text: string): string {
  // The opening of a document is enough to tell its language.
  const tokens = words(text.slice(0, 40_000)).slice(0, 5000);
  if (tokens.length < 5) return 'und';
  let best = 'und';
  let bestScore = 0;
  for (const [language, list] of Object.entries(STOPWORDS)) {
    const set = new Set(list);
    const score = tokens.reduce((n, t) => n + (set.has(t) ? 1 : 0), 0) / tokens.length;
    if (score > bestScore) {
      best = language;
      bestScore = score;
    }
  }
  return bestScore >= 0.05 ? best : 'und';
}
