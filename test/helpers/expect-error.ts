// The one argument-error assertion of the suite: every toroid error reads
// `toroid.<fn>: <arg> must be <expected>, got <actual>` (src/errors.ts), a TypeError for a
// wrong type or dtype and a RangeError for a wrong shape, size or value.
import { expect } from 'vitest';

type ErrorClass = typeof TypeError | typeof RangeError | typeof Error;

/** What `call` throws, or undefined when it returns. */
export function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** `call` throws exactly `kind` (not a subclass) whose message starts with `prefix`, says ' must be ' and ', got ', and matches `detail`; returns the message. */
export function expectErrorPrefix(call: () => unknown, kind: ErrorClass, prefix: string, detail?: RegExp): string {
  const caught = thrown(call);
  expect(caught, `should throw ${kind.name} ${prefix}`).toBeInstanceOf(kind);
  expect((caught as Error).constructor, (caught as Error).message).toBe(kind);
  const message = (caught as Error).message;
  expect(message.startsWith(prefix), message).toBe(true);
  expect(message).toContain(' must be ');
  expect(message).toContain(', got ');
  if (detail) expect(message).toMatch(detail);
  return message;
}

/** `call` throws exactly `kind` with `toroid.<fn>: <arg> must be ..., got ...`, matching `detail` when given. */
export function expectError(call: () => unknown, kind: ErrorClass, fn: string, arg: string, detail?: RegExp): string {
  return expectErrorPrefix(call, kind, `toroid.${fn}: ${arg} must be `, detail);
}
