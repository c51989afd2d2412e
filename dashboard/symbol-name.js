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

const TIMEFRAME = /^(?:M1|M5|M15|M30|H1|H4|D1)$/;

/**
 * What the address's `#/SYMBOL/TF` names (`#SYMBOL`, the older form, too): the symbol, or null
 * when it names none that would be shown, and the timeframe, or null.
 */
export function stateOfHash(hash) {
  const text = hash.replace(/^#/, '');
  const [name, timeframe] = text.startsWith('/') ? text.slice(1).split('/') : [text];
  let symbol;
  try {
    symbol = decodeURIComponent(name ?? '');
  } catch {
    symbol = null; // a `%` that is not an escape: no symbol
  }
  return { symbol: shownName(symbol) ? symbol : null, timeframe: TIMEFRAME.test(timeframe ?? '') ? timeframe : null };
}

export function hashOf(symbol, timeframe) {
  return `#/${encodeURIComponent(symbol)}${timeframe ? `/${timeframe}` : ''}`;
}
