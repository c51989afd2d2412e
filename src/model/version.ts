import { createRequire } from 'node:module';

const manifest = createRequire(import.meta.url)('../../package.json') as { version: string };

export const VERSION = manifest.version;
/** The `server` field of the WebSocket hello. */
export const SERVER_NAME = `tapebridge/${VERSION}`;
