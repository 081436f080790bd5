// What Strata accepts as a file: content types, how to recognise their first
// bytes, and safe key names.

export const DOCUMENT_TYPES: Record<string, string> = {
  'application/pdf': 'pdf',
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/csv': 'csv',
  'application/json': 'json',
};

/** True when the first bytes look like the declared type (never trust the name or the header). */
export function sniffMatches(contentType: string, head: Uint8Array): boolean {
  const ascii = (bytes: Uint8Array) => String.fromCharCode(...bytes);
  const looksBinary = head.includes(0);
  switch (contentType) {
    case 'application/pdf':
      return ascii(head.subarray(0, 5)) === '%PDF-';
    case 'application/json': {
      const text = new TextDecoder().decode(head).trimStart();
      return !looksBinary && (text.startsWith('{') || text.startsWith('[') || text === '');
    }
    case 'text/plain':
    case 'text/markdown':
    case 'text/csv': {
      if (looksBinary) return false;
      // Known binary signatures (PNG, JPEG, GIF, ZIP, PDF) are not text.
      const signatures = [[0x89, 0x50, 0x4e, 0x47], [0xff, 0xd8, 0xff], [0x47, 0x49, 0x46, 0x38], [0x50, 0x4b, 0x03, 0x04], [0x25, 0x50, 0x44, 0x46]];
      return !signatures.some((sig) => sig.every((byte, i) => head[i] === byte));
    }
    default:
      return false;
  }
}

/**
 * The last segment of a file's S3 key: ASCII letters, digits, dot, dash and
 * underscore only, at most 100 characters, extension kept. Traversal
 * ("../"), separators, control and unicode characters cannot survive it.
 */
export function safeFileName(original: string): string {
  const ascii = original.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const base = ascii.split(/[\\/]/).pop() ?? '';
  let cleaned = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/_+/g, '_').replace(/^[._]+|[._]+$/g, '');
  if (cleaned.length > 100) {
    const dot = cleaned.lastIndexOf('.');
    const extension = dot > 0 && cleaned.length - dot <= 10 ? cleaned.slice(dot) : '';
    cleaned = cleaned.slice(0, 100 - extension.length) + extension;
  }
  return cleaned || 'file';
}

/**
 * A display name: control characters removed, and the invisible characters
 * that change how the rest reads (bidi overrides and isolates, as in
 * "invoice\u202Efdp.exe", zero-width spaces, byte-order marks); trimmed, at
 * most 255 characters. Joiners stay: emoji sequences need them.
 */
export function displayName(original: string): string {
  const name = original.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/g, '').trim();
  return (Array.from(name).slice(0, 255).join('') || 'file');
}
