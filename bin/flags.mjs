// The `--flag value` parsing that toroid serve, generate and translate share: a table of
// flags -> [option name, kind], where kind is 'string', 'number' (finite), 'integer' or
// 'positive' (integer >= 1). Returns the options, or null for --help / -h.
const KINDS = {
  string: [() => true, ''],
  number: [Number.isFinite, 'a number'],
  integer: [Number.isInteger, 'an integer'],
  positive: [(n) => Number.isInteger(n) && n >= 1, 'a positive integer'],
};

export function parseFlags(command, argv, flags, usage) {
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') return null;
    const entry = flags[flag];
    if (entry === undefined) throw new Error(`toroid ${command}: unknown option '${flag}'\n\n${usage}`);
    const [key, kind] = entry;
    const value = argv[++i];
    if (value === undefined || (kind === 'string' && value.startsWith('--'))) throw new Error(`toroid ${command}: ${flag} needs a value`);
    if (kind === 'string') {
      options[key] = value;
      continue;
    }
    const n = Number(value);
    const [ok, expected] = KINDS[kind];
    if (value.trim() === '' || !ok(n)) throw new Error(`toroid ${command}: ${flag} must be ${expected}, got '${value}'`);
    options[key] = n;
  }
  return options;
}
