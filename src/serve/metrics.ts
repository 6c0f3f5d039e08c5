// What /metrics and /health report: gauges from the worker's last step, counters of
// requests by outcome and of tokens, tokens/s over the last 10 s, and time-to-first-token
// and between-token quantiles over the last 1,000 sequences (Prometheus text format).
const WINDOW_MS = 10_000;
const SAMPLES = 1000;

export interface ServeMetrics {
  activeSequences: number;
  queuedSequences: number;
  /** Requests accepted and not finished (queued in the worker or being decoded). */
  inFlight: number;
  tokensPerSecond: number;
  generatedTokens: number;
  requests: Record<string, number>;
  /** Seconds, over recent sequences. */
  timeToFirstToken: { p50: number; p99: number } | null;
  timeBetweenTokens: { p50: number; p99: number } | null;
  lastStepMs: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

class Recent {
  private readonly values: number[] = [];
  add(v: number): void {
    this.values.push(v);
    if (this.values.length > SAMPLES) this.values.shift();
  }
  summary(): { p50: number; p99: number } | null {
    if (this.values.length === 0) return null;
    const s = [...this.values].sort((a, b) => a - b);
    return { p50: quantile(s, 0.5), p99: quantile(s, 0.99) };
  }
}

export class MetricsBook {
  active = 0;
  queued = 0;
  inFlight = 0;
  lastStepMs = 0;
  generated = 0;
  readonly requests: Record<string, number> = {};
  private readonly window: Array<[number, number]> = [];
  private readonly ttft = new Recent();
  private readonly tbt = new Recent();

  countRequest(status: number): void {
    this.requests[status] = (this.requests[status] ?? 0) + 1;
  }

  tokens(n: number, now = performance.now()): void {
    this.generated += n;
    this.window.push([now, n]);
    while (this.window.length > 0 && this.window[0]![0] < now - WINDOW_MS) this.window.shift();
  }

  firstToken(seconds: number): void {
    this.ttft.add(seconds);
  }

  betweenTokens(seconds: number): void {
    this.tbt.add(seconds);
  }

  snapshot(now = performance.now()): ServeMetrics {
    while (this.window.length > 0 && this.window[0]![0] < now - WINDOW_MS) this.window.shift();
    const total = this.window.reduce((a, [, n]) => a + n, 0);
    const span = this.window.length === 0 ? 1 : Math.max(1, now - this.window[0]![0]) / 1000;
    return {
      activeSequences: this.active, queuedSequences: this.queued, inFlight: this.inFlight,
      tokensPerSecond: this.window.length === 0 ? 0 : total / span, generatedTokens: this.generated,
      requests: { ...this.requests }, timeToFirstToken: this.ttft.summary(), timeBetweenTokens: this.tbt.summary(), lastStepMs: this.lastStepMs,
    };
  }

  prometheus(): string {
    const m = this.snapshot();
    const lines = [
      '# HELP toroid_active_sequences Sequences in the running batch.', '# TYPE toroid_active_sequences gauge', `toroid_active_sequences ${m.activeSequences}`,
      '# HELP toroid_queued_sequences Sequences waiting to join the batch.', '# TYPE toroid_queued_sequences gauge', `toroid_queued_sequences ${m.queuedSequences}`,
      '# HELP toroid_in_flight_requests Requests accepted and not finished.', '# TYPE toroid_in_flight_requests gauge', `toroid_in_flight_requests ${m.inFlight}`,
      '# HELP toroid_tokens_per_second Generated tokens per second over the last 10 s.', '# TYPE toroid_tokens_per_second gauge', `toroid_tokens_per_second ${m.tokensPerSecond.toFixed(3)}`,
      '# HELP toroid_generated_tokens_total Tokens generated.', '# TYPE toroid_generated_tokens_total counter', `toroid_generated_tokens_total ${m.generatedTokens}`,
      '# HELP toroid_step_milliseconds Duration of the last batch step.', '# TYPE toroid_step_milliseconds gauge', `toroid_step_milliseconds ${m.lastStepMs.toFixed(3)}`,
      '# HELP toroid_requests_total Completion requests by HTTP status.', '# TYPE toroid_requests_total counter',
      ...Object.entries(m.requests).map(([code, n]) => `toroid_requests_total{code="${code}"} ${n}`),
    ];
    for (const [name, help, q] of [['toroid_time_to_first_token_seconds', 'Time to first token, recent sequences.', m.timeToFirstToken], ['toroid_time_between_tokens_seconds', 'Time between tokens, recent sequences.', m.timeBetweenTokens]] as const) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} summary`);
      if (q !== null) lines.push(`${name}{quantile="0.5"} ${q.p50.toFixed(6)}`, `${name}{quantile="0.99"} ${q.p99.toFixed(6)}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
