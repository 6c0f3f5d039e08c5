// The load generator of bench/serve-load.ts, in its own process so that its work does not
// count against the server's event loop: N concurrent clients, each sending `rounds`
// streaming completions one after another; reports per-request time to first token and
// the gaps between streamed tokens (client clock), and the aggregate tokens/s.
//   node bench/serve-load-client.mjs <url> <clients> <rounds> <maxTokens> <promptLen> <vocab> <timeLimitS>
import { Agent, request } from 'node:http';

const [url, clients, rounds, maxTokens, promptLen, vocab, limitS] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v)));
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
const u = new URL(url);
const ttft = [], gaps = [];
let tokens = 0, requests = 0, failed = 0;
const deadline = performance.now() + limitS * 1000;

function completion(prompt) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let last = null, buf = '';
    const req = request({ host: u.hostname, port: u.port, path: '/v1/completions', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      if (res.statusCode !== 200) { failed++; res.resume(); res.on('end', resolve); return; }
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buf += chunk;
        let at;
        while ((at = buf.indexOf('\n\n')) >= 0) {
          const event = buf.slice(0, at);
          buf = buf.slice(at + 2);
          if (event === 'data: [DONE]') continue;
          const n = JSON.parse(event.slice(6)).choices[0].token_ids.length;
          if (n === 0) continue;
          const now = performance.now();
          if (last === null) ttft.push(now - t0); else gaps.push(now - last);
          last = now;
          tokens += n;
        }
      });
      res.on('end', () => { requests++; resolve(); });
    });
    req.on('error', () => { failed++; resolve(); });
    req.end(JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0, stop_token_ids: [], stream: true }));
  });
}

async function client(c) {
  for (let r = 0; r < rounds && performance.now() < deadline; r++) {
    const prompt = Array.from({ length: promptLen }, (_, t) => (c * 31 + r * 17 + t * 7) % vocab);
    await completion(prompt);
  }
}

const start = performance.now();
await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
const wallS = (performance.now() - start) / 1000;
const q = (xs, p) => { if (xs.length === 0) return null; const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
process.stdout.write(JSON.stringify({ clients, requests, failed, tokens, wallS, tokensPerSecond: tokens / wallS, ttftP50: q(ttft, 0.5), ttftP99: q(ttft, 0.99), tbtP50: q(gaps, 0.5), tbtP99: q(gaps, 0.99) }) + '\n');
agent.destroy();
