// readable-stream's stream classes, without its index (which pulls in
// pipeline, compose, the operators and promises).
import Stream from 'readable-stream/lib/internal/streams/legacy.js'
import Readable from 'readable-stream/lib/internal/streams/readable.js'
import Writable from 'readable-stream/lib/internal/streams/writable.js'
import Duplex from 'readable-stream/lib/internal/streams/duplex.js'
import Transform from 'readable-stream/lib/internal/streams/transform.js'
import PassThrough from 'readable-stream/lib/internal/streams/passthrough.js'
import { Buffer } from 'buffer'

const S = Stream.Stream
S._isUint8Array = (value) => value instanceof Uint8Array
S._uint8ArrayToBuffer = (chunk) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)

export { Readable, Writable, Duplex, Transform, PassThrough }
export const Stream_ = S
export default { Readable, Writable, Duplex, Transform, PassThrough, Stream: S }
