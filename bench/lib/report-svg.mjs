// @ts-check
/**
 * A hand-written SVG bar chart of the headline metrics: one small panel per metric, one
 * horizontal bar per pair, labelled with its median. No dependency.
 */
import { fmt, pairLabel } from './report-md.mjs';

/** @typedef {import('./metrics.mjs').Metric} Metric */
/** @typedef {import('./metrics.mjs').MetricSummary} MetricSummary */

const COLORS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2'];

/** @param {string} s */
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * @param {{ title: string, subtitle: string, pairs: string[], baseline: string, metrics: Metric[],
 *   summary: Record<string, Record<string, MetricSummary>> }} x
 * @returns {string}
 */
export function svgChart(x) {
  const cols = 3;
  const panelW = 300;
  const labelW = 0;
  const barH = 18;
  const gap = 6;
  const panelH = 46 + x.pairs.length * (barH + gap);
  const legendH = 22 * Math.ceil(x.pairs.length / 2) + 10;
  const top = 56;
  const rows = Math.ceil(x.metrics.length / cols);
  const width = cols * panelW + 20;
  const height = top + legendH + rows * panelH + 10;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="16" font-weight="bold">${esc(x.title)}</text>`,
    `<text x="10" y="42" fill="#555">${esc(x.subtitle)}</text>`,
  );
  x.pairs.forEach((pair, i) => {
    const lx = 10 + (i % 2) * 300;
    const ly = top + 4 + Math.floor(i / 2) * 22;
    out.push(
      `<rect x="${lx}" y="${ly}" width="14" height="14" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${lx + 20}" y="${ly + 11}">${esc(pairLabel(pair))}</text>`,
    );
  });
  x.metrics.forEach((metric, mi) => {
    const px = 10 + (mi % cols) * panelW;
    const py = top + legendH + Math.floor(mi / cols) * panelH;
    const values = x.pairs.map((p) => x.summary[p]?.[metric.id]?.median ?? null);
    const ratios = x.pairs.map((p) => x.summary[p]?.[metric.id]?.ratio ?? null);
    const max = Math.max(0, ...values.map((v) => v ?? 0)) || 1;
    const barMax = panelW - 110 - labelW;
    out.push(
      `<text x="${px}" y="${py + 16}" font-weight="bold">${esc(metric.label)}</text>`,
      `<text x="${px}" y="${py + 32}" fill="#555">${esc(metric.unit)}, ${metric.better === 'higher' ? 'higher' : 'lower'} is better</text>`,
    );
    values.forEach((v, i) => {
      const y = py + 40 + i * (barH + gap);
      const w = v === null ? 0 : Math.max(1, (v / max) * barMax);
      out.push(
        `<rect x="${px + labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[i % COLORS.length]}"><title>${esc(pairLabel(x.pairs[i]))}: ${esc(fmt(v, metric.digits))} ${esc(metric.unit)}</title></rect>`,
        `<text x="${(px + labelW + w + 4).toFixed(1)}" y="${y + barH - 5}">${esc(fmt(v, metric.digits))}` +
          `${ratios[i] !== null && x.pairs[i] !== x.baseline ? `<tspan fill="#555"> ×${ratios[i].toFixed(2)}</tspan>` : ''}</text>`,
      );
    });
  });
  out.push('</svg>', '');
  return out.join('\n');
}
