/**
 * A node's streams carry objects: piping one straight into a byte stream (a
 * socket, another node's wire stream) without a codec is refused at pipe()
 * with a TypeError that says what to put in between, instead of an
 * uncatchable ERR_INVALID_ARG_TYPE out of the stream's 'data' handler later.
 */
import test from 'tape'
import { PassThrough, Writable } from 'node:stream'
import ndjson from 'ndjson'
import { createEncoder } from '../../lib/codec/ndjson.ts'
import { node, quiet } from '../support/streams.ts'

const HINT = /createEncoder\(\).*createWireStream\(\)/

test('a Gossip piped into a byte stream throws a TypeError naming the codec, and nothing is piped', async (t) => {
  const a = node('a')
  const bytes = new PassThrough()
  t.throws(() => a.pipe(bytes), (e: Error) => e instanceof TypeError && HINT.test(e.message), 'byte PassThrough refused')
  const w = node('b').createWireStream()
  t.throws(() => a.pipe(w as never), (e: Error) => e instanceof TypeError && HINT.test(e.message), "another node's wire stream refused")
  t.equal((a as any)._readableState.pipes.length, 0, 'no pipe left behind')
  a.set('k', 1)
  a.gossip()
  await quiet(5)
  t.pass('no crash after the refusal')
  a.destroy()
  t.end()
})

test('a createStream() stream piped into a byte stream throws the same TypeError', (t) => {
  const a = node('a')
  const s = a.createStream()
  t.throws(() => s.pipe(new PassThrough()), (e: Error) => e instanceof TypeError && HINT.test(e.message))
  a.destroy()
  t.end()
})

test('object-mode destinations are taken as before: the encoders, an object Writable, another node', (t) => {
  const a = node('a')
  const b = node('b')
  t.doesNotThrow(() => a.pipe(createEncoder()).resume(), 'createEncoder()')
  a.unpipe()
  t.doesNotThrow(() => a.pipe(ndjson.stringify()).resume(), 'ndjson.stringify()')
  a.unpipe()
  t.doesNotThrow(() => a.pipe(new Writable({ objectMode: true, write: (_o, _e, cb) => cb() })), 'an object Writable')
  a.unpipe()
  t.doesNotThrow(() => a.createStream().pipe(b), 'a stream to another node')
  a.destroy()
  b.destroy()
  t.end()
})
