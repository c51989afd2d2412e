// Follows symbols of a running bridge and prints each new version of their quotes.
//
//   npm run build && node examples/follow.mjs [URL] [SYMBOL ...]
//   TAPEBRIDGE_TOKEN=... node examples/follow.mjs http://127.0.0.1:8080 ESZ25_FUT_CME XAUUSD
//
// Without symbols it follows all of them. Node 20 has no global WebSocket: `ws` is passed in.
import WebSocket from 'ws';
import { connect } from 'tapebridge/client';

const [url = 'http://127.0.0.1:8080', ...symbols] = process.argv.slice(2);
const client = connect(url, { WebSocket, token: process.env.TAPEBRIDGE_TOKEN });

client.on('open', ({ transport, epoch }) => console.error(`connected over ${transport}${epoch ? ` (epoch ${epoch})` : ''}`));
client.on('reconnecting', ({ delayMs, transport, reason }) => console.error(`${reason}; trying ${transport} in ${delayMs} ms`));
client.on('resync', ({ symbol, reason }) => console.error(`${symbol}: document replaced by a snapshot (${reason})`));
client.on('error', ({ code, message }) => console.error(`${code}: ${message}`));

client.subscribe(symbols.length > 0 ? symbols : ['*'], (document, { seq }) => {
  const { bid = '-', ask = '-', last = '-' } = document.quote;
  console.log(`${document.symbol} #${seq} bid ${bid} ask ${ask} last ${last}`);
});

process.on('SIGINT', () => void client.close().then(() => process.exit(0)));
