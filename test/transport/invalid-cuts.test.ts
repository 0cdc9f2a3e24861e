/** InvalidCuts: a peer closed for invalid objects is refused for the rest of the minute, by its id and, past HOST_CUTS ids, by its host. */
import test from 'tape'
import { CUT_MS, HOST_CUTS, InvalidCuts } from '../../lib/transport/invalid-cuts.ts'

test('a peer whose link was closed for invalid objects is refused for the rest of the minute, by host and id', (t) => {
  const c = new InvalidCuts()
  c.note('10.0.0.1', 'p', 1000)
  t.ok(c.recent('10.0.0.1', 'p', 1000 + CUT_MS - 1), 'the same peer within the minute')
  t.notOk(c.recent('10.0.0.1', 'q', 2000), 'another id from the same host is not (one close)')
  t.notOk(c.recent('10.0.0.2', 'p', 2000), 'the same id from another host is not')
  t.notOk(c.recent('10.0.0.1', 'p', 1000 + CUT_MS), 'a minute later, the peer may come back')
  t.end()
})

test('a host that gives a new id at each connection gets no new budget past HOST_CUTS closes a minute', (t) => {
  const c = new InvalidCuts()
  for (let i = 0; i < HOST_CUTS - 1; i++) c.note('10.0.0.1', `forger-${i}`, 1000 + i)
  t.notOk(c.recent('10.0.0.1', 'fresh', 2000), `${HOST_CUTS - 1} ids closed: a new id still gets in`)
  c.note('10.0.0.1', 'fresh', 2000)
  t.ok(c.recent('10.0.0.1', 'yet-another', 2001), `${HOST_CUTS} ids closed within a minute: every hello from the host is refused`)
  t.notOk(c.recent('10.0.0.9', 'honest', 2001), 'other hosts are not')
  t.ok(c.recent('10.0.0.1', 'yet-another', 1000 + CUT_MS - 1), 'until the oldest of those closes is a minute old')
  t.notOk(c.recent('10.0.0.1', 'yet-another', 1000 + CUT_MS), 'then a new id gets in again')
  t.end()
})

test('the same id closed again does not count twice toward its host', (t) => {
  const c = new InvalidCuts()
  for (let i = 0; i < 3 * HOST_CUTS; i++) c.note('10.0.0.1', 'p', 1000 + i)
  t.notOk(c.recent('10.0.0.1', 'q', 5000), 'one peer closed many times: the host is not refused for it')
  t.ok(c.recent('10.0.0.1', 'p', 5000), 'that peer is')
  t.end()
})
