// readable-stream's only use of `process` is nextTick. The npm `process`
// package runs ticks from a setTimeout, which browsers delay by 4 ms once
// nested: a microtask is both faster and smaller.
const process = {
  nextTick(fn, ...args) {
    queueMicrotask(() => fn(...args))
  },
  env: {},
  browser: true,
}
export default process
