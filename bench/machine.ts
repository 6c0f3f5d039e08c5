// Machine facts printed with every benchmark so numbers carry their context.
import os from 'node:os';

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
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
