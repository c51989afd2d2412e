export { connect, TapeClient, type SubscribeOptions, type Update, type UpdateListener } from './client.js';
export { CLIENT_EVENTS, type ClientEventMap, type ClientEventName, type ClientListener, type ResyncReason } from './events.js';
export { CLIENT_DEFAULTS, type ClientOptions, type FetchFunction, type WebSocketConstructor, type WebSocketLike } from './options.js';
export type { BridgeNotice, ClientState, InstrumentDocument, JsonPatchOperation, TransportKind, Version } from './types.js';
export { RAISED_ERROR_CODES, TapeError, type ErrorCode, type RaisedErrorCode, type TapeErrorCode } from '../model/errors.js';
export { WireError } from './wire.js';
