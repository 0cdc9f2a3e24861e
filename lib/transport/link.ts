/** How a dialler opens links: the target, one attempt, and the function that makes attempts. */
import type * as net from 'node:net'

/** The peer a dialer keeps a link to; `address` is "host:port" as in events. */
export interface Target {
  readonly host: string
  readonly port: number
  readonly address: string
}

/** One try at opening a link. */
export interface LinkAttempt {
  /** The socket, ready for the hello; or a rejection whose message says why not. */
  readonly ready: Promise<net.Socket>
  /** Give up (timeout, stop): destroys the socket; `ready` then never settles. */
  cancel(): void
}

/** How a `Dialer` opens links: plain TCP (`openTcp`), TLS (`tlsOpener`), or any other byte stream over a socket. */
export type Opener = (target: Target) => LinkAttempt
