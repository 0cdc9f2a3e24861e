// Parts of readable-stream left out of the browser build (setEncoding,
// Duplex.from, pipeline, compose and the stream operators): simple-scuttle
// does not use them, and they are a third of the library's size.
function unsupported() {
  throw new Error('not in the simple-scuttle browser build (see scripts/build-browser.ts)')
}
export const StringDecoder = unsupported
export default unsupported
