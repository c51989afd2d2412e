/** Longest symbol name the bridge publishes and its SDK accepts. */
export const MAX_SYMBOL_LENGTH = 128;

/**
 * Characters no symbol name may hold: commas (SSE lists symbols comma-separated), control,
 * format (bidi overrides such as U+202E, zero-width characters), surrogate and private-use
 * characters, line and paragraph separators, and every space but U+0020. Each of these either
 * breaks a list or a display, or lets one name look like another.
 */
const REFUSED_CHARACTER = /[,\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}]|(?! )\p{Zs}/u;

/**
 * Why `name` is not a symbol name the bridge publishes or its SDK and frames accept, or null
 * when it is one: 1 to MAX_SYMBOL_LENGTH characters, none of REFUSED_CHARACTER, no space at
 * either end, and in Unicode NFC (so that two names that look the same are the same). The
 * reason never quotes the name.
 */
export function symbolNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'a symbol must be a string';
  if (name.length === 0 || name.length > MAX_SYMBOL_LENGTH) return `a symbol must have 1 to ${MAX_SYMBOL_LENGTH} characters (this one has ${name.length})`;
  const refused = REFUSED_CHARACTER.exec(name);
  if (refused) {
    const code = refused[0].codePointAt(0) as number;
    return `a symbol must not contain U+${code.toString(16).toUpperCase().padStart(4, '0')} (at character ${refused.index + 1}): no commas, control, format, bidi or invisible characters`;
  }
  if (name.startsWith(' ') || name.endsWith(' ')) return 'a symbol must not start or end with a space';
  if (name.normalize('NFC') !== name) return 'a symbol must be in Unicode NFC';
  return null;
}
