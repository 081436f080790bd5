// Every S3 key Strata writes (s3/keys.ts) and every stored reference it reads
// back (s3/refs.ts): the shapes, the optional prefix, and what is refused.
import { describe, expect, it } from 'vitest';
import { analysisKey, analysisRoot, archiveKey, archiveListingKey, extractedTextKey, fileIncomingKey, fileKey, isArchiveListingKey, parseArchiveKey, userAnalysisPrefix, userPrefixes } from '../../supabase/functions/_shared/s3/keys.ts';
import { InvalidReferenceError, normalizeStoredRef } from '../../supabase/functions/_shared/s3/refs.ts';

const USER = '0b6f1a52-3c4d-4e5f-8a9b-0c1d2e3f4a5b';
const CONVERSATION = '1c7a2b63-4d5e-4f60-9b1c-2d3e4f5a6b7c';
const GENERATION = '2d8b3c74-5e6f-4071-8c2d-3e4f5a6b7c8d';
const FILE = '3e9c4d85-6f70-4182-9d3e-4f5a6b7c8d9e';
const ANALYSIS = '4fad5e96-7081-4293-ae4f-5a6b7c8d9eaf';

describe('archiveKey', () => {
  it.each([
    ['', `archived_conversations/${USER}/${CONVERSATION}/${GENERATION}.json.gz`],
    ['tenant', `tenant/archived_conversations/${USER}/${CONVERSATION}/${GENERATION}.json.gz`],
    ['a/b', `a/b/archived_conversations/${USER}/${CONVERSATION}/${GENERATION}.json.gz`],
  ])('prefix %j → %s', (prefix, key) => {
    expect(archiveKey(prefix, USER, CONVERSATION, GENERATION)).toBe(key);
  });

  it('gives each generation of a conversation its own key', () => {
    const other = '5a0e6fa7-8192-43a4-bf50-6b7c8d9eafb0';
    expect(archiveKey('', USER, CONVERSATION, GENERATION)).not.toBe(archiveKey('', USER, CONVERSATION, other));
  });

  it('lower-cases the ids', () => {
    expect(archiveKey('', USER.toUpperCase(), CONVERSATION.toUpperCase(), GENERATION.toUpperCase())).toBe(
      `archived_conversations/${USER}/${CONVERSATION}/${GENERATION}.json.gz`,
    );
  });

  it.each([
    ['user id', ['not-a-uuid', CONVERSATION, GENERATION]],
    ['user id', ['../../etc', CONVERSATION, GENERATION]],
    ['conversation id', [USER, `${CONVERSATION}/x`, GENERATION]],
    ['archive generation', [USER, CONVERSATION, '']],
    ['archive generation', [USER, CONVERSATION, `${GENERATION} `]],
  ] as const)('refuses a %s that is not a UUID (%j)', (what, [userId, conversationId, generation]) => {
    expect(() => archiveKey('', userId, conversationId, generation)).toThrow(`${what} is not a UUID`);
  });
});

describe('parseArchiveKey', () => {
  it.each(['', 'tenant', 'a/b/c'])('reads back what archiveKey wrote (prefix %j)', (prefix) => {
    expect(parseArchiveKey(prefix, archiveKey(prefix, USER, CONVERSATION, GENERATION))).toEqual({
      userId: USER,
      conversationId: CONVERSATION,
      generation: GENERATION,
    });
  });

  it.each([
    ['a key under another prefix', 'tenant', `other/archived_conversations/${USER}/${CONVERSATION}/${GENERATION}.json.gz`],
    ['a prefixed key when no prefix is configured', '', `tenant/archived_conversations/${USER}/${CONVERSATION}/${GENERATION}.json.gz`],
    ['an unprefixed key when a prefix is configured', 'tenant', `archived_conversations/${USER}/${CONVERSATION}/${GENERATION}.json.gz`],
    ['a prefix that only starts the same', 'ten', `tenant/archived_conversations/${USER}/${CONVERSATION}/${GENERATION}.json.gz`],
    ['a key without a generation', '', `archived_conversations/${USER}/${CONVERSATION}.json.gz`],
    ['another extension', '', `archived_conversations/${USER}/${CONVERSATION}/${GENERATION}.json`],
    ['upper-case ids', '', `archived_conversations/${USER.toUpperCase()}/${CONVERSATION}/${GENERATION}.json.gz`],
    ['a file key', '', `files/${USER}/${FILE}/a.pdf`],
    ['an extra folder', '', `archived_conversations/x/${USER}/${CONVERSATION}/${GENERATION}.json.gz`],
  ])('returns null for %s', (_what, prefix, key) => {
    expect(parseArchiveKey(prefix, key)).toBeNull();
  });
});

describe('fileKey and fileIncomingKey', () => {
  it.each([
    ['', 'report.pdf', `files/${USER}/${FILE}/report.pdf`],
    ['tenant', 'report.pdf', `tenant/files/${USER}/${FILE}/report.pdf`],
    ['', 'a-b_c.d.TXT', `files/${USER}/${FILE}/a-b_c.d.TXT`],
    ['', 'x'.repeat(100), `files/${USER}/${FILE}/${'x'.repeat(100)}`],
  ])('prefix %j, name %j → %s', (prefix, name, key) => {
    expect(fileKey(prefix, USER, FILE, name)).toBe(key);
  });

  it.each(['', '.', '..', '...', 'a/b', '../a', 'a\\b', 'a b', 'é.pdf', 'a\u0000b', 'x'.repeat(101)])(
    'refuses the unsafe name %j',
    (name) => {
      expect(() => fileKey('', USER, FILE, name)).toThrow('file name is not a safe key segment');
    },
  );

  it.each([
    ['user id', 'nope', FILE],
    ['file id', USER, 'nope'],
  ])('refuses a %s that is not a UUID', (what, userId, fileId) => {
    expect(() => fileKey('', userId, fileId, 'a.pdf')).toThrow(`${what} is not a UUID`);
  });

  it.each([
    ['', `files/${USER}/${FILE}/incoming/report.pdf`],
    ['a/b', `a/b/files/${USER}/${FILE}/incoming/report.pdf`],
  ])('puts the presigned upload under incoming/ next to the file (prefix %j)', (prefix, key) => {
    expect(fileIncomingKey(fileKey(prefix, USER, FILE, 'report.pdf'))).toBe(key);
  });
});

describe('analysisKey', () => {
  it.each([
    ['2025-01-15T12:00:00Z', '2025/01'],
    // The month is the UTC month, whatever the offset the date was written with.
    ['2025-01-31T23:30:00-05:00', '2025/02'],
    ['2025-03-01T00:30:00+01:00', '2025/02'],
    ['2024-12-31T23:59:59.999Z', '2024/12'],
    ['0999-06-01T00:00:00Z', '0999/06'],
  ])('dates %s in %s (UTC)', (at, month) => {
    expect(analysisKey('', USER, ANALYSIS, new Date(at))).toBe(`analysis/${month}/${USER}/${ANALYSIS}.json`);
  });

  it('puts the prefix first', () => {
    expect(analysisKey('tenant', USER, ANALYSIS, new Date('2025-07-04T00:00:00Z'))).toBe(`tenant/analysis/2025/07/${USER}/${ANALYSIS}.json`);
  });

  it.each([
    ['user id', 'x', ANALYSIS],
    ['analysis id', USER, 'x'],
  ])('refuses a %s that is not a UUID', (what, userId, id) => {
    expect(() => analysisKey('', userId, id, new Date())).toThrow(`${what} is not a UUID`);
  });
});

describe('user prefixes', () => {
  it.each([
    ['', [`archived_conversations/${USER}/`, `files/${USER}/`], 'analysis/'],
    ['tenant', [`tenant/archived_conversations/${USER}/`, `tenant/files/${USER}/`], 'tenant/analysis/'],
  ])('prefix %j', (prefix, prefixes, root) => {
    expect(userPrefixes(prefix, USER.toUpperCase())).toEqual(prefixes);
    expect(analysisRoot(prefix)).toBe(root);
    expect(userAnalysisPrefix(`${root}2025/01/`, USER)).toBe(`${root}2025/01/${USER}/`);
  });

  it('refuses a user id that is not a UUID', () => {
    expect(() => userPrefixes('', '')).toThrow('user id is not a UUID');
    expect(() => userAnalysisPrefix('analysis/2025/01/', '*')).toThrow('user id is not a UUID');
  });

  it("keeps one user's prefix from matching another's keys", () => {
    const [archives] = userPrefixes('', USER);
    expect(archiveKey('', USER, CONVERSATION, GENERATION).startsWith(archives!)).toBe(true);
    expect(archiveKey('', CONVERSATION, USER, GENERATION).startsWith(archives!)).toBe(false);
  });
});

describe('normalizeStoredRef', () => {
  const archive = `archived_conversations/${USER}/${CONVERSATION}/${GENERATION}.json.gz`;
  const file = `files/${USER}/${FILE}/a.pdf`;
  const analysis = `analysis/2025/01/${USER}/${ANALYSIS}.json`;
  const legacy = `2025/01/${USER}/${ANALYSIS}.json`;

  it.each([
    ['a bare key', '', archive, archive],
    ['an s3:// URL of the bucket', '', `s3://strata/${file}`, file],
    ['surrounding spaces and leading slashes', '', `  //${file} `, file],
    ['an analysis key', '', analysis, analysis],
    ['a legacy analysis path (no folder)', '', legacy, analysis],
    ['a bare key, prefix configured', 'tenant', archive, `tenant/${archive}`],
    ['an already prefixed key', 'tenant', `tenant/${file}`, `tenant/${file}`],
    ['an s3:// URL of a prefixed key', 'tenant', `s3://strata/tenant/${analysis}`, `tenant/${analysis}`],
    ['a legacy analysis path under the prefix', 'tenant', `tenant/${legacy}`, `tenant/${analysis}`],
    ['a legacy analysis path without the prefix', 'a/b', legacy, `a/b/${analysis}`],
  ])('reads %s', (_what, prefix, ref, key) => {
    expect(normalizeStoredRef(ref, { bucket: 'strata', prefix })).toBe(key);
  });

  it('reads back every key keys.ts writes, with and without a prefix', () => {
    for (const prefix of ['', 'tenant', 'a/b']) {
      for (const key of [
        archiveKey(prefix, USER, CONVERSATION, GENERATION),
        fileKey(prefix, USER, FILE, 'a.pdf'),
        fileIncomingKey(fileKey(prefix, USER, FILE, 'a.pdf')),
        analysisKey(prefix, USER, ANALYSIS, new Date('2025-01-01T00:00:00Z')),
      ]) {
        expect(normalizeStoredRef(key, { bucket: 'strata', prefix })).toBe(key);
        expect(normalizeStoredRef(`s3://strata/${key}`, { bucket: 'strata', prefix })).toBe(key);
      }
    }
  });

  it.each([
    ['another bucket', '', `s3://other/${file}`, 'reference is in bucket other, not strata'],
    ['a ".." segment', '', `files/${USER}/../${USER}/a.pdf`, 'reference has empty, "." or ".." segments'],
    ['a "." segment', '', `files/./${USER}/a.pdf`, 'reference has empty, "." or ".." segments'],
    ['an empty segment', '', `files/${USER}//a.pdf`, 'reference has empty, "." or ".." segments'],
    ['a trailing slash', '', `files/${USER}/`, 'reference has empty, "." or ".." segments'],
    ['nothing', '', '   ', 'reference has empty, "." or ".." segments'],
    ['a bucket URL without a key', '', 's3://strata/', 'reference has empty, "." or ".." segments'],
    ['a control character', '', `files/${USER}/${FILE}/a\u0000.pdf`, 'reference has control characters'],
    ['a newline', '', `files/${USER}/${FILE}/a\n.pdf`, 'reference has control characters'],
    ['a key outside the Strata folders', '', 'secrets/keys.txt', 'reference is not under a Strata folder'],
    ['a key under another prefix', 'tenant', `other/${file}`, 'reference is not under a Strata folder'],
    ['a prefix that only starts the same', 'ten', `tenant/${file}`, 'reference is not under a Strata folder'],
    ['a legacy path with a short month', '', `2025/1/${USER}/${ANALYSIS}.json`, 'reference is not under a Strata folder'],
    ['a legacy path that is not JSON', '', `2025/01/${USER}/${ANALYSIS}.txt`, 'reference is not under a Strata folder'],
    ['a legacy path with a nested name', '', `2025/01/${USER}/x/${ANALYSIS}.json`, 'reference is not under a Strata folder'],
  ])('refuses %s', (_what, prefix, ref, message) => {
    const call = () => normalizeStoredRef(ref, { bucket: 'strata', prefix });
    expect(call).toThrow(InvalidReferenceError);
    expect(call).toThrow(message);
  });

  it('names its error', () => {
    let caught: unknown;
    try {
      normalizeStoredRef('nowhere/x', { bucket: 'strata', prefix: '' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidReferenceError);
    expect((caught as Error).name).toBe('InvalidReferenceError');
  });
});

describe('derived keys live in keys.ts too', () => {
  const user = '11111111-2222-4333-8444-555555555555';
  it('the extracted text sits beside its file, the listing in the user folder', () => {
    expect(extractedTextKey(`p/files/${user}/${user}/a.pdf`)).toBe(`p/files/${user}/${user}/extracted.txt`);
    expect(archiveListingKey('p', user)).toBe(`p/archived_conversations/${user}/metadata.json`);
    expect(archiveListingKey('', user)).toBe(`archived_conversations/${user}/metadata.json`);
    expect(isArchiveListingKey(archiveListingKey('p', user))).toBe(true);
    expect(isArchiveListingKey(`files/${user}/${user}/metadata.json`)).toBe(false);
    expect(() => archiveListingKey('', '../x')).toThrow();
  });
});
