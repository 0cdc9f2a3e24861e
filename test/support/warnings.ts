/** The process warnings `f` emits, as `${name}: ${message}` (run to the next turn, when Node delivers them). */
export async function warningsOf(f: () => void): Promise<string[]> {
  const seen: string[] = []
  const onWarning = (w: Error) => seen.push(`${w.name}: ${w.message}`)
  process.on('warning', onWarning)
  try {
    f()
    await new Promise((done) => setImmediate(done))
  } finally {
    process.off('warning', onWarning)
  }
  return seen
}
