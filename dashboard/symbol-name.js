/**
 * Which symbol names the dashboard shows: those the client SDK would subscribe to (1 to 128
 * characters, no comma), and none with control or format characters (bidi overrides such as
 * U+202E, zero-width characters), which could make one name display as another. Names are
 * always rendered as text (textContent), never as HTML.
 */
const MAX_SYMBOL_LENGTH = 128;
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

export function shownName(symbol) {
  return (
    typeof symbol === 'string' &&
    symbol.length > 0 &&
    symbol.length <= MAX_SYMBOL_LENGTH &&
    !symbol.includes(',') &&
    !HIDDEN.test(symbol) &&
    symbol.trim() === symbol
  );
}

/** The symbol named by the address's `#...`, or null when it names none that would be shown. */
export function symbolOfHash(hash) {
  let symbol;
  try {
    symbol = decodeURIComponent(hash.replace(/^#/, ''));
  } catch {
    return null; // a `%` that is not an escape: no symbol
  }
  return shownName(symbol) ? symbol : null;
}
