// The part of node:assert/strict the behaviour cases use, for the browser (same names, same meaning).
class AssertionError extends Error {}

const show = (v) => {
  try {
    return JSON.stringify(v, (k, x) => (x instanceof ArrayBuffer || ArrayBuffer.isView(x) ? [...new Uint8Array(x.buffer ?? x)] : x));
  } catch {
    return String(v);
  }
};
const fail = (message, actual, expected) => {
  throw new AssertionError(`${message ?? 'assertion failed'}: actual ${show(actual)}, expected ${show(expected)}`);
};

function same(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof ArrayBuffer || ArrayBuffer.isView(a)) {
    const x = new Uint8Array(a.buffer ?? a, a.byteOffset ?? 0, a.byteLength);
    const y = new Uint8Array(b.buffer ?? b, b.byteOffset ?? 0, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same(a[k], b[k]));
}

function matches(err, expected) {
  if (expected === undefined) return true;
  if (expected instanceof RegExp) return expected.test(String(err?.message ?? err));
  if (typeof expected === 'function') return err instanceof expected;
  return Object.entries(expected).every(([k, v]) => (v instanceof RegExp ? v.test(err?.[k]) : same(err?.[k], v)));
}

const assert = {
  AssertionError,
  ok(value, message) { if (!value) fail(message, value, true); },
  equal(actual, expected, message) { if (!Object.is(actual, expected)) fail(message, actual, expected); },
  notEqual(actual, expected, message) { if (Object.is(actual, expected)) fail(message, actual, `not ${show(expected)}`); },
  deepEqual(actual, expected, message) { if (!same(actual, expected)) fail(message, actual, expected); },
  match(text, re, message) { if (!re.test(text)) fail(message, text, String(re)); },
  throws(fn, expected, message) {
    try { fn(); } catch (err) { if (!matches(err, expected)) fail(message, err?.message, String(expected)); return; }
    fail(message ?? 'did not throw', undefined, expected);
  },
  async rejects(promise, expected, message) {
    try { await (typeof promise === 'function' ? promise() : promise); } catch (err) {
      if (!matches(err, expected)) fail(message, err?.message, expected);
      return;
    }
    fail(message ?? 'did not reject', undefined, expected);
  },
};
export default assert;
