// @ts-check
/** The Markdown table (printed, and written to results/latest.md for the README to include). */

/** @typedef {import('./metrics.mjs').Metric} Metric */
/** @typedef {import('./metrics.mjs').MetricSummary} MetricSummary */

/** `a:b` → `a ↔ b` @param {string} pair */
export const pairLabel = (pair) => pair.replace(':', ' ↔ ');

/** @param {number | null} v @param {number} digits */
export function fmt(v, digits) {
  if (v === null || !Number.isFinite(v)) return '–';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** @param {MetricSummary | undefined} s @param {Metric} m @param {boolean} isBaseline */
function cell(s, m, isBaseline) {
  if (!s || s.median === null) return '–';
  const value = fmt(s.median, m.digits);
  if (isBaseline || s.ratio === null) return value;
  return `${value} (×${s.ratio.toFixed(2)})`;
}

/**
 * @typedef {object} ReportInput
 * @property {Record<string, any>} machine from machineInfo
 * @property {{ mode: string, rounds: number, seconds: number, pingCount: number, pingIntervalS: number }} config
 * @property {string[]} pairs measured pairs, in table order
 * @property {string} baseline
 * @property {Metric[]} metrics
 * @property {Record<string, Record<string, MetricSummary>>} summary
 * @property {{ pair: string, reason: string }[]} skipped
 * @property {{ pair: string, round: number, error: string }[]} errors
 * @property {string} resultFile
 * @property {string} date
 * @property {Record<string, import('./implementations.mjs').Implementation | undefined>} implementations
 */

/** @param {ReportInput} x @returns {string} */
export function markdownReport(x) {
  const m = x.machine;
  const lines = [];
  lines.push(`### WireGuard implementations side by side`, '');
  const tsg = m.tsguard.commit ? `tsguard ${m.tsguard.commit.slice(0, 10)}${m.tsguard.dirty ? ' (+ uncommitted changes)' : ''}` : 'tsguard (no git commit)';
  lines.push(
    `\`${m.hostname}\` · ${m.cpuModel}, ${m.cores} cores · Linux ${m.kernel} · Node ${m.node} · ` +
      `${m.versions.wireguardGo ?? 'wireguard-go ?'} · ${tsg} · ${x.date}`,
    '',
  );
  const hasBaseline = x.pairs.includes(x.baseline);
  lines.push(
    `${x.config.mode} run: ${x.config.rounds} round${x.config.rounds === 1 ? "" : "s"}, pairs alternated within each round; ${x.config.seconds} s per iperf3 test; ` +
      `${x.config.pingCount} pings at ${x.config.pingIntervalS * 1000} ms per latency test. ` +
      `Medians over rounds${hasBaseline ? `; (×r) = ratio to ${pairLabel(x.baseline)}` : ''}. ` +
      `↑ higher is better, ↓ lower is better. Traffic flows from side A (left) to side B. ` +
      `Load average (1 min) ${m.loadAverageAtStart[0]} at start${m.loadAverageAtEnd ? `, ${m.loadAverageAtEnd[0]} at end` : ''}` +
      `${m.elapsedSeconds !== null ? ` of a ${Math.round(m.elapsedSeconds / 6) / 10}-minute run` : ''}. Raw data: \`${x.resultFile}\`.`,
    '',
  );
  const impls = Object.values(x.implementations)
    .filter((i) => i !== undefined)
    .map((i) => `${i.name} = ${i.kind === 'kernel' ? 'in-kernel' : `\`${i.command.join(' ')}\``}`);
  lines.push(`Implementations: ${impls.join(', ')}.`, '');
  if (x.pairs.length > 0) {
    lines.push(`| metric | ${x.pairs.map(pairLabel).join(' | ')} |`);
    lines.push(`|---|${x.pairs.map(() => '---:').join('|')}|`);
    for (const metric of x.metrics) {
      const arrow = metric.better === 'higher' ? '↑' : '↓';
      const cells = x.pairs.map((p) => cell(x.summary[p]?.[metric.id], metric, p === x.baseline));
      if (cells.every((c) => c === '–')) continue; // e.g. RSS rows when only kernel pairs ran
      lines.push(`| ${metric.label}, ${metric.unit} ${arrow} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  } else {
    lines.push('No pair could be measured.', '');
  }
  for (const s of x.skipped) lines.push(`- Not run: ${pairLabel(s.pair)} — ${s.reason}`);
  for (const e of x.errors) lines.push(`- Failed: ${pairLabel(e.pair)}, round ${e.round} — ${e.error.split('\n')[0].slice(0, 300)}`);
  if (x.skipped.length || x.errors.length) lines.push('');
  return lines.join('\n');
}
