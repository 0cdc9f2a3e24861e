/**
 * The network's 'log' lines quote what peers chose (their ids, the reasons
 * their objects were refused): a peer's control characters come out as
 * escapes, so a program that prints the lines cannot be made to print
 * escape sequences or lines that look like the node's own.
 */
import test from 'tape'
import { Gossip, base } from 'simple-scuttle'
import { Network, listen } from 'simple-scuttle/net'
import { HostileClient } from '../support/hostile-client.ts'
import { waitFor } from '../support/streams.ts'

// C0 (ESC, BEL, newline), a C1 control, a line separator and a bidi override.
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/

test('a peer\'s control characters in its id and objects reach the network\'s log lines as escapes', async (t) => {
  const net = new Network(new Gossip('v', { ...base.config, resolve: base.resolution.lww_vs_current_vers }))
  const lines: string[] = []
  net.on('log', (line: string) => lines.push(line))
  const server = await listen(net, { host: '127.0.0.1', port: 0 })
  const id = 'evil\u001b]0;owned\u0007\u001b[2J\nrefused 10.0.0.9:7001: forged\u0085\u2028\u202e'
  const h = await HostileClient.open({ port: server.port, id })
  await h.send([JSON.stringify({ key: 'k\u001b[31m', value: 1, source_id: 'x', version: -1 })])
  await waitFor(() => lines.some((l) => l.includes('invalid object')), 10_000, 'the invalid object logged')
  const logged = lines.find((l) => l.includes('invalid object')) as string
  t.notOk(RAW.test(logged), 'no raw control character in the line')
  t.ok(logged.includes('evil\\u001b]0;owned\\u0007\\u001b[2J\\nrefused'), 'the id shown with its escapes')
  t.notOk(lines.some((l) => RAW.test(l)), 'nor in any other line')
  h.close()
  await server.close()
  await net.close()
  t.end()
})
