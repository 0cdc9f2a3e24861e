/**
 * How many times its nominal bound a wait may take before it fails
 * (`TEST_TIMEOUT_SLACK`, default 3). Bounds only decide when a test that is
 * failing gives up; on a loaded machine a passing one must not hit them.
 */
export const TIMEOUT_SLACK = Number(process.env.TEST_TIMEOUT_SLACK ?? 3)
