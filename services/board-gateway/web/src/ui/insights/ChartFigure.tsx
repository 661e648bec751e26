// A chart with its download buttons (SVG and PNG of this chart). The buttons name the
// chart for screen-reader users ("Download Oak ward chart as PNG").
import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { fileSafe } from '../../insights/logic';
import { savePng, saveSvg } from './download';

export function ChartFigure({ name, label, caption, children, testid }: { name: string; label: string; caption?: ComponentChildren; children: ComponentChildren; testid?: string }) {
  const ref = useRef<HTMLElement>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const svg = () => ref.current?.querySelector('svg') ?? null;
  const file = fileSafe(name);
  return (
    <figure class="chart-figure" ref={ref} data-testid={testid}>
      <div class="chart-box">{children}</div>
      <figcaption>
        {caption}
        <span class="chart-actions">
          <button type="button" class="btn btn-small" onClick={() => { const s = svg(); if (s) saveSvg(s, file); }}>SVG<span class="visually-hidden"> of the {label} chart</span></button>
          <button type="button" class="btn btn-small" onClick={() => { const s = svg(); if (s) savePng(s, file).catch((e: unknown) => setProblem(String(e))); }}>PNG<span class="visually-hidden"> of the {label} chart</span></button>
        </span>
        {problem && <span class="muted" role="status">{problem}</span>}
      </figcaption>
    </figure>
  );
}
