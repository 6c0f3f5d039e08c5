// One error format on this side of the boundary (the native binding mirrors it):
//   toroid.<fn>: <arg> must be <expected>, got <actual>
// Wrong type or dtype -> TypeError; wrong shape, size or value -> RangeError.

export function describeShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  if (typeof value === 'object') {
    const maybe = value as { dtype?: unknown; shape?: unknown };
    if (typeof maybe.dtype === 'string' && Array.isArray(maybe.shape)) {
      return `${maybe.dtype} ${describeShape(maybe.shape as number[])}`;
    }
    return value.constructor?.name ?? 'object';
  }
  if (typeof value === 'string') return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

export function typeError(fn: string, arg: string, expected: string, actual: string): TypeError {
  return new TypeError(`toroid.${fn}: ${arg} must be ${expected}, got ${actual}`);
}

export function rangeError(fn: string, arg: string, expected: string, actual: string): RangeError {
  return new RangeError(`toroid.${fn}: ${arg} must be ${expected}, got ${actual}`);
}
