// TypeScript declarations of the WebAssembly client (client.mjs), shaped as socket.io-client 4.8's, so
// that a TypeScript project can swap `import { io } from 'socket.io-client'` for this module.

export type EventName = string | number;
export type Listener = (...args: any[]) => void;

export interface ManagerOptions {
  /** The server's Socket.IO path (default "/socket.io/"). */
  path?: string;
  /** Transports in the order tried (default ["polling", "websocket"]). */
  transports?: Array<'polling' | 'websocket'>;
  /** Upgrade from polling to WebSocket when the server offers it (default true). */
  upgrade?: boolean;
  /** The handshake's query (the URL's query string, when it has one, is used instead). */
  query?: Record<string, string>;
  reconnection?: boolean;
  reconnectionAttempts?: number;
  reconnectionDelay?: number;
  reconnectionDelayMax?: number;
  randomizationFactor?: number;
  /** Milliseconds from opening the transport to the Engine.IO handshake (default 20000). */
  timeout?: number;
  autoConnect?: boolean;
  /** Default timeout of every ack (emitWithAck rejects, callbacks get an Error first). */
  ackTimeout?: number;
  /** Delivery retries (with ackTimeout): each emit is sent again until acknowledged. */
  retries?: number;
  forceNew?: boolean;
  multiplex?: boolean;
  /** The packet format: socket.io-parser's, or socket.io-msgpack-parser's (built in, by name). */
  parser?: 'default' | 'msgpack';
}

export interface SocketOptions {
  /** The CONNECT payload, or a function asked for it before every CONNECT. */
  auth?: Record<string, unknown> | ((cb: (data: Record<string, unknown>) => void) => void);
}

export type Options = ManagerOptions & SocketOptions;

declare class Emitter {
  on(event: EventName, listener: Listener): this;
  once(event: EventName, listener: Listener): this;
  off(event?: EventName, listener?: Listener): this;
  listeners(event: EventName): Listener[];
}

export interface ConnectError extends Error {
  /** What the server's middleware attached to its refusal. */
  data?: unknown;
}

/** One connection to a server, shared by its namespaces' sockets (socket.io-client's Manager). */
export declare class Manager extends Emitter {
  constructor(uri: string, opts?: Partial<Options>);
  readonly opts: Partial<Options>; // what was given (and the path), as socket.io-client
  /** engine.io-client's socket, as far as this client has it: the transport in use, and the events
   * 'upgrade', 'close' (reason), 'packet' and 'packetCreate' ({ type, data }). */
  readonly engine: Emitter & { transport: { name: 'polling' | 'websocket' | undefined } };
  reconnection(): boolean;
  reconnection(v: boolean): this;
  reconnectionAttempts(): number;
  reconnectionAttempts(v: number): this;
  reconnectionDelay(): number;
  reconnectionDelay(v: number): this;
  reconnectionDelayMax(): number;
  reconnectionDelayMax(v: number): this;
  randomizationFactor(): number;
  randomizationFactor(v: number): this;
  timeout(): number;
  timeout(v: number): this;
  socket(nsp: string, opts?: Partial<SocketOptions>): Socket;
  close(): void;
  readonly bufferedAmount: number;
  on(event: 'open', listener: () => void): this;
  on(event: 'reconnect_attempt', listener: (attempt: number) => void): this;
  on(event: 'reconnect', listener: (attempts: number) => void): this;
  on(event: 'reconnect_failed', listener: () => void): this;
  on(event: 'reconnect_error', listener: (err: Error) => void): this;
  on(event: 'close', listener: (reason: string) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'drain', listener: () => void): this;
  on(event: EventName, listener: Listener): this;
}

/** One namespace over a Manager (socket.io-client's Socket). */
export declare class Socket extends Emitter {
  readonly io: Manager;
  readonly nsp: string;
  auth: SocketOptions['auth'];
  id: string | undefined;
  connected: boolean;
  readonly disconnected: boolean;
  readonly active: boolean;
  /** Whether the last connection came back through connection state recovery. */
  recovered: boolean;
  readonly bufferedAmount: number;

  connect(): this;
  open(): this;
  disconnect(): this;
  close(): this;

  emit(event: EventName, ...args: any[]): this;
  emitWithAck(event: EventName, ...args: any[]): Promise<any>;
  send(...args: any[]): this;
  timeout(ms: number): this;
  readonly volatile: this;
  compress(compress: boolean): this;

  onAny(listener: (event: EventName, ...args: any[]) => void): this;
  prependAny(listener: (event: EventName, ...args: any[]) => void): this;
  offAny(listener?: (event: EventName, ...args: any[]) => void): this;
  listenersAny(): ((event: EventName, ...args: any[]) => void)[];
  onAnyOutgoing(listener: (event: EventName, ...args: any[]) => void): this;
  prependAnyOutgoing(listener: (event: EventName, ...args: any[]) => void): this;
  offAnyOutgoing(listener?: (event: EventName, ...args: any[]) => void): this;
  listenersAnyOutgoing(): ((event: EventName, ...args: any[]) => void)[];

  on(event: 'connect', listener: () => void): this;
  on(event: 'disconnect', listener: (reason: string) => void): this;
  on(event: 'connect_error', listener: (err: ConnectError) => void): this;
  on(event: 'drain', listener: () => void): this;
  on(event: EventName, listener: Listener): this;
}

/** A socket for the URL's namespace; sockets of one server share a connection unless forceNew. */
export declare function io(uri?: string, opts?: Partial<Options>): Socket;
export declare function io(opts: Partial<Options>): Socket;
export { io as connect };
