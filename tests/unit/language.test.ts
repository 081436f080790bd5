// The language guess and word count of extracted documents (files/language.ts).
import { describe, expect, it } from 'vitest';
import { countWords, detectLanguage, words } from '../../supabase/functions/_shared/files/language.ts';

describe('detectLanguage', () => {
  it.each([
    ['en', 'The report is on the table and it is not for you to read with the others.'],
    ['de', 'Der Bericht ist nicht auf dem Tisch, und die Kollegen haben ihn auch nicht mit den anderen gelesen.'],
    ['fr', 'Le rapport est sur la table et nous ne le lisons pas avec les autres dans la salle.'],
    ['es', 'El informe está en la mesa y no lo leemos con los otros para el equipo del proyecto.'],
    ['it', 'Il rapporto è sul tavolo e non lo leggiamo con gli altri per la riunione della settimana.'],
    ['pt', 'O relatório está na mesa e não o lemos com os outros para a equipe do projeto.'],
    ['nl', 'Het rapport ligt op de tafel en ik lees het niet met de anderen maar ook voor mij.'],
    ['en', 'THE REPORT IS ON THE TABLE AND IT IS NOT FOR YOU.'], // case does not matter
  ])('tells %s', (language, text) => {
    expect(detectLanguage(text)).toBe(language);
  });

  it.each([
    ['empty text', ''],
    ['fewer than five words', 'the and of to'],
    ['numbers only', '1 2 3 4 5 6 7 8 9 10'],
    ['words that are no stopword', 'lorem ipsum dolor sit amet consectetur adipiscing elit'],
    ['text without spaces between words', 'これは日本語の文章です。とても長い文章ですが、単語の区切りがありません。'],
  ])("answers 'und' for %s", (_what, text) => {
    expect(detectLanguage(text)).toBe('und');
  });

  it('needs stopwords to be at least 5 % of the words', () => {
    const filler = (n: number) => Array.from({ length: n }, () => 'zzz').join(' ');
    expect(detectLanguage(`the ${filler(19)}`)).toBe('en'); // 1 of 20
    expect(detectLanguage(`the ${filler(20)}`)).toBe('und'); // 1 of 21
  });

  it('reads only the opening of a long document', () => {
    const english = ' the report is on the table and it is not for you'.repeat(100);
    expect(detectLanguage(`${'zzz '.repeat(10_000)}${english}`)).toBe('und');
    expect(detectLanguage(`${english}${'zzz '.repeat(10_000)}`)).toBe('en');
  });
});

describe('words and countWords', () => {
  it.each([
    ['', []],
    ['   \n\t ', []],
    ['Hello, world!', ['hello', 'world']],
    ["Don't stop—it's 42 o’clock, ÉTÉ", ["don't", 'stop', "it's", '42', 'o’clock', 'été']],
    ['a-b_c.d', ['a', 'b', 'c', 'd']],
    ['über straße', ['über', 'straße']],
    ["rock 'n' roll", ['rock', 'n', 'roll']],
  ])('%j → %j', (text, expected) => {
    expect(words(text)).toEqual(expected);
    expect(countWords(text)).toBe(expected.length);
  });

  it('counts the words of a large text', () => {
    expect(countWords('one two three '.repeat(100_000))).toBe(300_000);
  });
});
