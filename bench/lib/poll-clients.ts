/**
 * The polling clients of the polling scenario, in their own process: `clients` loops, each
 * asking `GET <url>/<symbol>` every `1000 / rate` ms over keep-alive connections, as the
 * seeds' consumers polled their bridge. Answers `{requests, errors}` when told to stop.
 *
 *   (forked by bench/polling.ts) poll-clients.ts <url> <clients> <rate> <symbol,symbol,...>
 */
import { Agent, get } from 'node:http';

const [url, clientsText, rateText, symbolsText] = process.argv.slice(2) as [string, string, string, string];
const clients = Number(clientsText);
const interval = 1000 / Number(rateText);
const symbols = symbolsText.split(',');
const agent = new Agent({ keepAlive: true, maxSockets: clients });
let requests = 0;
let errors = 0;
const timers: NodeJS.Timeout[] = [];

function poll(symbol: string): void {
  get(`${url}/${symbol}`, { agent }, (response) => {
    response.resume();
    response.on('end', () => {
      if (response.statusCode === 200) requests++;
      else errors++;
    });
  }).on('error', () => errors++);
}

for (let i = 0; i < clients; i++) {
  const symbol = symbols[i % symbols.length] as string;
  // Spread the clients over the interval, as independent consumers would be.
  setTimeout(() => timers.push(setInterval(() => poll(symbol), interval)), (i * interval) / clients);
}

process.on('message', () => {
  for (const timer of timers) clearInterval(timer);
  process.send?.({ requests, errors }, () => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
