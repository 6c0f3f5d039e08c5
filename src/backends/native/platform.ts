// What both addon loaders (native/addon.ts, cuda/addon.ts) ask before loading.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// src/backends/native and dist/backends/native are both three levels below the package root
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Why an addon is not even looked for: switched off by `envVar`=0, or no build for this platform (null: look). */
export function notLoadable(envVar: string, noBuild: (platform: string) => string): string | null {
  if (process.env[envVar] === '0') return `disabled by ${envVar}=0`;
  if (process.platform !== 'linux' || process.arch !== 'x64') return noBuild(`${process.platform}-${process.arch}`);
  return null;
}
