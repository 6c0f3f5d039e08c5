// The bar chart of `npm run bench`: tokens/s per implementation, one group per
// workload, log scale (the peers span four orders of magnitude). SVG by hand;
// PNG through resvg (a devDependency) when it is installed.
import { createRequire } from 'node:module';

export interface Bar { impl: string; tokensPerSec: number | null; note?: string }
export interface Group { workload: string; bars: Bar[] }

const COLORS: Record<string, string> = {
  'toroid-cpu': '#d62728', 'toroid-cuda': '#8c1a1a', 'toroid-ts': '#ff9896', 'tfjs-wasm': '#1f77b4', 'tfjs-cpu': '#aec7e8',
  torch: '#2ca02c', 'torch-nocache': '#98df8a', 'torch-cuda': '#17631a',
  'toroid-cpu-bf16': '#e377c2', 'torch-bf16': '#bcbd22',
};
const color = (impl: string): string => COLORS[impl] ?? '#7f7f7f';
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChartSvg(title: string, subtitle: string, groups: Group[]): string {
  const impls = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.impl)))];
  const values = groups.flatMap((g) => g.bars.map((b) => b.tokensPerSec)).filter((v): v is number => v !== null && v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values, 1)))), hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, 10))));
  const barW = 26, gap = 36, left = 78, top = 70, plotH = 300, legendH = 28 * Math.ceil(impls.length / 4);
  const groupW = (g: Group): number => Math.max(g.bars.length * barW + gap, 150);  // room for the label
  const width = Math.max(640, left + groups.reduce((s, g) => s + groupW(g), 0) + 30);
  const height = top + plotH + 90 + legendH;
  const y = (v: number): number => top + plotH - (Math.log10(v / lo) / Math.log10(hi / lo)) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${left}" y="28" font-size="18" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${left}" y="48" font-size="12" fill="#555">${esc(subtitle)}</text>`);
  for (let d = lo; d <= hi; d *= 10) {
    out.push(`<line x1="${left}" x2="${width - 20}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 8}" y="${y(d) + 4}" font-size="11" text-anchor="end">${d >= 1000 ? `${d / 1000}k` : d}</text>`);
  }
  out.push(`<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" font-size="12" text-anchor="middle">tokens / s (log scale)</text>`);
  let x = left + gap / 2;
  for (const g of groups) {
    g.bars.forEach((b, i) => {
      const bx = x + i * barW;
      if (b.tokensPerSec !== null && b.tokensPerSec > 0) {
        const by = y(b.tokensPerSec);
        out.push(`<rect x="${bx}" y="${by}" width="${barW - 4}" height="${top + plotH - by}" fill="${color(b.impl)}"><title>${esc(`${b.impl}: ${Math.round(b.tokensPerSec)} tokens/s`)}</title></rect>`);
        const label = b.tokensPerSec >= 1000 ? `${(b.tokensPerSec / 1000).toFixed(b.tokensPerSec >= 10000 ? 0 : 1)}k` : b.tokensPerSec.toFixed(b.tokensPerSec >= 10 ? 0 : 1);
        out.push(`<text x="${bx + (barW - 4) / 2}" y="${by - 4}" font-size="9" text-anchor="middle">${label}</text>`);
      } else {
        out.push(`<text x="${bx + (barW - 4) / 2}" y="${top + plotH - 4}" font-size="9" text-anchor="middle" fill="#999">n/a</text>`);
      }
    });
    out.push(`<text x="${x + (g.bars.length * barW) / 2 - 2}" y="${top + plotH + 18}" font-size="12" text-anchor="middle">${esc(g.workload)}</text>`);
    x += groupW(g);
  }
  out.push(`<line x1="${left}" x2="${width - 20}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  impls.forEach((impl, i) => {
    const lx = left + (i % 4) * 150, ly = top + plotH + 48 + Math.floor(i / 4) * 24;
    out.push(`<rect x="${lx}" y="${ly - 11}" width="14" height="14" fill="${color(impl)}"/><text x="${lx + 20}" y="${ly}" font-size="12">${esc(impl)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** PNG of an SVG via @resvg/resvg-js, or null when it is not installed. */
export function svgToPng(svg: string): Uint8Array | null {
  try {
    const { Resvg } = createRequire(import.meta.url)('@resvg/resvg-js') as { Resvg: new (svg: string, opts?: object) => { render(): { asPng(): Uint8Array } } };
    return new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 } }).render().asPng();
  } catch {
    return null;
  }
}
