/**
 * A closed network opens nothing more: listen, listenWebSocket, connect and
 * connectWebSocket on it fail with an error saying so (a listener on it
 * would serve no peer and keep the process alive; a dialler would never
 * dial), as createStream does on a destroyed node.
 */
import test from 'tape'
import { Network, connect, connectWebSocket, listen, listenWebSocket, type Listener } from '../../lib/net.ts'
import { node } from '../support/streams.ts'

/** `${name}: ${message}` of what `f` throws or rejects with, or 'no error' (a listener it made is closed, a dialler stopped). */
async function failure(f: () => unknown): Promise<string> {
  try {
    const made = (await f()) as Partial<Listener> & { stop?: () => void }
    if (made.close !== undefined) await made.close()
    else made.stop?.()
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`
  }
  return 'no error'
}

for (const when of ['closed', 'closing'] as const) {
  test(`listen, listenWebSocket, connect and connectWebSocket on a ${when} network are refused, naming the call`, async (t) => {
    const net = new Network(node('a'), { interval: 50 })
    const closing = net.close()
    if (when === 'closed') await closing
    t.equal(await failure(() => listen(net, { port: 0, host: '127.0.0.1' })), 'Error: listen: the network is closed')
    t.equal(await failure(() => listenWebSocket(net, { port: 0, host: '127.0.0.1' })), 'Error: listenWebSocket: the network is closed')
    t.equal(await failure(() => connect(net, { host: '127.0.0.1', port: 1 })), 'Error: connect: the network is closed')
    t.equal(await failure(() => connectWebSocket(net, { url: 'ws://127.0.0.1:1/' })), 'Error: connectWebSocket: the network is closed')
    await closing
    t.end()
  })
}

test('a listen begun before close() ends with the network: its port is not left open', async (t) => {
  const { createConnection } = await import('node:net')
  const net = new Network(node('a'), { interval: 50 })
  const listening = listen(net, { port: 0, host: '127.0.0.1' })
  await net.close()
  const listener = await listening
  const port = listener.port
  const outcome = await new Promise<string>((done) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => {
      s.destroy()
      done('connected')
    })
    s.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message))
  })
  t.equal(outcome, 'ECONNREFUSED', 'nothing listens on its port')
  await listener.close() // (a no-op once the network closed it)
  t.end()
})
