// How a module starts its worker thread: the compiled worker beside it (dist/), or, when
// running from the TypeScript sources (tests, tsx), the .ts file with tsx registered inside
// the worker first. The Trainer and toroid.serve share it.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The Worker arguments for `<name>.js` (or `.ts`) next to the module at `from` (its import.meta.url). */
export function workerEntry(from: string, name: string): { url: URL; eval?: string } {
  const url = new URL(from.endsWith('.ts') ? `./${name}.ts` : `./${name}.js`, from);
  if (!url.pathname.endsWith('.ts')) return { url };
  const tsxRoot = path.dirname(createRequire(from).resolve('tsx/package.json'));
  const tsx = pathToFileURL(path.join(tsxRoot, 'dist', 'esm', 'api', 'index.mjs')).href;
  return { url, eval: `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });` };
}
