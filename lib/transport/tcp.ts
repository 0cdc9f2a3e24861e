/**
 * simple-scuttle's TCP (and TLS) transport: accepting peers (listen.ts) and
 * keeping outbound links to them (dial.ts).
 */
export { listen, ListenError, type ListenOptions, type Listener } from './listen.ts'
export { connect, openTcp, Dialer, type DialOptions, type LinkAttempt, type Opener, type Target } from './dial.ts'
