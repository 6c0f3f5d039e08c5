// Machine facts printed with every benchmark so numbers carry their context.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { nativeInfo } from '../src/index.js';

const ISA_NAMES: Record<string, string> = { 'amx-bf16': 'AMX-BF16', 'avx512-bf16': 'AVX512-BF16', avx2: 'AVX2' };

/**
 * The bf16 matrix ISA: the path toroid's cpu backend reports in nativeInfo() (`bf16Isa`, or the
 * older `bf16`: 'amx-bf16' | 'avx512-bf16' | 'avx2'), else what /proc/cpuinfo's flags offer
 * (amx_bf16 -> AMX-BF16, avx512_bf16 -> AVX512-BF16, else AVX2), marked as such; null off Linux
 * without the addon.
 */
export function bf16Isa(): string | null {
  const info = nativeInfo() as (ReturnType<typeof nativeInfo> & { bf16Isa?: string }) | null;
  const native = info?.bf16Isa ?? info?.bf16;
  if (native) return ISA_NAMES[native.toLowerCase()] ?? native;
  let flags: Set<string>;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => /^flags\s*:/.test(l));
    if (line === undefined) return null;
    flags = new Set(line.split(':')[1]!.trim().split(/\s+/));
  } catch {
    return null;
  }
  return `${flags.has('amx_bf16') ? 'AMX-BF16' : flags.has('avx512_bf16') ? 'AVX512-BF16' : 'AVX2'} (CPU flags)`;
}

/** The CPU, its cores and memory, Node, and the bf16 matrix ISA (AMX-BF16, AVX512-BF16, AVX2). */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const isa = bf16Isa();
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}${isa ? `, bf16 matrix ISA ${isa}` : ''}`;
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Median and range of `runs` timings of fn in milliseconds, after `warmup` untimed calls. */
export function time(fn: () => void, runs = 5, warmup = 1): { median: number; min: number; max: number } {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)]!, min: samples[0]!, max: samples[samples.length - 1]! };
}

/** Peak FP32 throughput of the benchmark machine (2 cores, AVX2 FMA), for % of peak. */
export const PEAK_GFLOPS_FP32 = 235;
/** Peak memory bandwidth of the benchmark machine in GB/s, for % of peak. */
export const PEAK_GBPS = 35;
