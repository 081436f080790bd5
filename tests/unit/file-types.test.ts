// What Strata accepts as a file (files/types.ts): the key-safe name, the
// display name, and the check of the first bytes against the declared type.
import { describe, expect, it } from 'vitest';
import { DOCUMENT_TYPES, displayName, safeFileName, sniffMatches } from '../../supabase/functions/_shared/files/types.ts';
import { fileKey } from '../../supabase/functions/_shared/s3/keys.ts';

const USER = '0b6f1a52-3c4d-4e5f-8a9b-0c1d2e3f4a5b';
const FILE = '3e9c4d85-6f70-4182-9d3e-4f5a6b7c8d9e';

describe('safeFileName', () => {
  const cases: Array<[string, string]> = [
    ['report.pdf', 'report.pdf'],
    ['a-b_c.d.TXT', 'a-b_c.d.TXT'],
    // Traversal and separators: only the last segment is kept.
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\windows\\system32.dll', 'system32.dll'],
    ['/abs/path/notes.md', 'notes.md'],
    ['dir/', 'file'],
    // Accents are dropped, compatibility characters decomposed, the rest replaced.
    ['Café résumé.pdf', 'Cafe_resume.pdf'],
    ['ﬁle.txt', 'file.txt'],
    ['日本語.txt', 'txt'],
    ['my  file (1).PDF', 'my_file_1_.PDF'],
    ['a\u0000b\u001f.txt', 'a_b_.txt'],
    ['tab\there.csv', 'tab_here.csv'],
    ['emoji 😀.json', 'emoji_.json'],
    // No leading or trailing dots or underscores; nothing left → "file".
    ['.env', 'env'],
    ['name.', 'name'],
    ['__init__.py', 'init_.py'],
    ['...', 'file'],
    ['', 'file'],
    ['😀', 'file'],
    // At most 100 characters, a short extension kept.
    [`${'a'.repeat(150)}.pdf`, `${'a'.repeat(96)}.pdf`],
    [`${'a'.repeat(95)}.${'b'.repeat(20)}`, `${'a'.repeat(95)}.bbbb`],
    ['x'.repeat(100), 'x'.repeat(100)],
  ];

  it.each(cases)('%j → %j', (original, safe) => {
    expect(safeFileName(original)).toBe(safe);
  });

  it.each(cases)('%j gives a name fileKey accepts', (original) => {
    const name = safeFileName(original);
    expect(name.length).toBeLessThanOrEqual(100);
    expect(() => fileKey('', USER, FILE, name)).not.toThrow();
  });
});

describe('displayName', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['  report.pdf \n', 'report.pdf'],
    ['Café résumé.pdf', 'Café résumé.pdf'],
    ['../../etc/passwd', '../../etc/passwd'], // shown, never used as a key
    ['a\u0000b\u001fc\u007f.txt', 'abc.txt'],
    ['line\r\nbreak.txt', 'linebreak.txt'],
    ['', 'file'],
    ['   ', 'file'],
    ['\u0000\u0007', 'file'],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'], // a right-to-left override would show "invoiceexe.pdf"
    ['a\u2066b\u2069c\u200Fd\u200Be\uFEFF.txt', 'abcde.txt'],
    ['c1\u0085\u009Fcontrols.txt', 'c1controls.txt'],
    ['family \u{1F468}\u200D\u{1F469}\u200D\u{1F467}.txt', 'family \u{1F468}\u200D\u{1F469}\u200D\u{1F467}.txt'],
  ])('%j → %j', (original, shown) => {
    expect(displayName(original)).toBe(shown);
  });

  it('keeps at most 255 characters, counting code points, not UTF-16 units', () => {
    expect(displayName('x'.repeat(300))).toBe('x'.repeat(255));
    const emoji = displayName('😀'.repeat(300));
    expect(Array.from(emoji)).toHaveLength(255);
    expect(emoji).toBe('😀'.repeat(255));
  });
});

describe('sniffMatches', () => {
  const bytes = (...values: number[]) => new Uint8Array(values);
  const text = (value: string) => new TextEncoder().encode(value);
  const PNG = bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
  const JPEG = bytes(0xff, 0xd8, 0xff, 0xe0);
  const GIF = text('GIF89a');
  const ZIP = bytes(0x50, 0x4b, 0x03, 0x04, 0x14);
  const PDF = text('%PDF-1.7\n');

  it('knows the document types Strata processes', () => {
    expect(Object.keys(DOCUMENT_TYPES).sort()).toEqual(['application/json', 'application/pdf', 'text/csv', 'text/markdown', 'text/plain']);
  });

  it.each([
    ['application/pdf', 'a PDF', PDF, true],
    ['application/pdf', '"%PDF" without the dash', text('%PDF'), false],
    ['application/pdf', 'text', text('hello'), false],
    ['application/pdf', 'a PNG', PNG, false],
    ['application/pdf', 'nothing', bytes(), false],
    ['application/json', 'an object', text('{"a":1}'), true],
    ['application/json', 'an array after whitespace', text(' \n\t[1,2]'), true],
    ['application/json', 'a byte order mark and an object', text('\ufeff{}'), true],
    ['application/json', 'nothing', bytes(), true],
    ['application/json', 'a bare string', text('"a"'), false],
    ['application/json', 'text', text('hello'), false],
    ['application/json', 'an object with a NUL byte', text('{"a":"\u0000"}'), false],
    ['text/plain', 'text', text('hello\nworld'), true],
    ['text/plain', 'UTF-8 text', text('Grüße, 世界'), true],
    ['text/plain', 'nothing', bytes(), true],
    ['text/plain', 'a NUL byte', text('a\u0000b'), false],
    ['text/plain', 'a PNG', PNG, false],
    ['text/plain', 'a JPEG', JPEG, false],
    ['text/plain', 'a GIF', GIF, false],
    ['text/plain', 'a ZIP', ZIP, false],
    ['text/plain', 'a PDF', PDF, false],
    ['text/markdown', 'markdown', text('# Title\n\n- item'), true],
    ['text/markdown', 'a ZIP', ZIP, false],
    ['text/csv', 'CSV', text('a,b\n1,2\n'), true],
    ['text/csv', 'a GIF', GIF, false],
    ['image/png', 'a PNG', PNG, false],
    ['application/octet-stream', 'anything', text('hello'), false],
    ['APPLICATION/PDF', 'a PDF (type not lower-cased)', PDF, false],
  ])('%s with %s → %s', (contentType, _what, head, expected) => {
    expect(sniffMatches(contentType, head)).toBe(expected);
  });
});
