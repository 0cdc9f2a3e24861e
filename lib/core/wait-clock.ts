/**
 * The clock the core measures its waits on: the refetch backoff
 * (inbound.ts), fingerprint checks (verification.ts), the quiet time
 * between counted generation changes (clock.ts) and the repair window
 * after one (resync.ts).
 *
 * Those waits are `now - start >= wait` on the replica's wall clock
 * (`config.now`), which is settable: NTP or an operator steps it back. On
 * the raw reading a step back of S makes `now - start` negative, and every
 * wait begun before the step lasts S longer (an hour's step, an hour
 * without refetch or fingerprint checks). Here a reading below the last is
 * taken as no time passing: the step goes into an offset, and the waits go
 * on from where they stood. A step forward ends the waits in progress
 * early, once.
 *
 * Invariants: readings never decrease; between steps back they advance
 * exactly as the wall clock does. Time stays injected (`wall`); a reading
 * that is not a number (NaN) is passed through and changes nothing.
 */
export class WaitClock {
  private offset = 0
  private last = -Infinity

  constructor(private readonly wall: () => number) {}

  /** The wall clock plus the steps back absorbed so far, ms: never below an earlier reading. */
  now(): number {
    const t = this.wall() + this.offset
    if (t < this.last) {
      this.offset += this.last - t
      return this.last
    }
    if (t > this.last) this.last = t
    return t
  }
}
