// Machine facts printed with every benchmark so numbers carry their context.
import os from 'node:os';
import { nativeInfo } from '../src/index.js';

/** The CPU, its cores and memory, Node, and the bf16 matrix path toroid's cpu backend chose (AMX-BF16, AVX512-BF16, AVX2). */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const bf16 = nativeInfo()?.bf16;
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}${bf16 ? `, bf16 matrix path ${bf16}` : ''}`;
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
