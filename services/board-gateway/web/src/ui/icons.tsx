// Small inline SVG shapes. Each status pairs a colour with a distinct SHAPE and words,
// so nothing depends on telling colours apart. Icons are decorative (aria-hidden):
// the words next to them carry the meaning.
import type { ConnectionState } from '../live';

type Shape = 'circle' | 'triangle' | 'diamond' | 'octagon' | 'ring' | 'square' | 'check' | 'cross';

export function Icon({ shape, class: cls }: { shape: Shape; class?: string }) {
  const c = `icon ${cls ?? ''}`;
  switch (shape) {
    case 'circle':
      return <svg class={c} viewBox="0 0 16 16" aria-hidden="true" focusable="false"><circle cx="8" cy="8" r="6" fill="currentColor" /></svg>;
    case 'ring':
      return <svg class={c} viewBox="0 0 16 16" aria-hidden="true" focusable="false"><circle cx="8" cy="8" r="5.5" fill="none" stroke="currentColor" stroke-width="2.5" /></svg>;
    case 'triangle':
      return <svg class={c} viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d="M8 1.5 15 14.5H1z" fill="currentColor" /></svg>;
    case 'diamond':
      return <svg class={c} viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d="M8 1 15 8 8 15 1 8z" fill="currentColor" /></svg>;
    case 'octagon':
      return (
        <svg class={c} viewBox="0 0 16 16" aria-hidden="true" focusable="false">
          <path d="M5 1h6l4 4v6l-4 4H5l-4-4V5z" fill="currentColor" />
          <path d="M8 4v5M8 11v1.5" stroke="var(--icon-cut, #000)" stroke-width="2" stroke-linecap="round" />
        </svg>
      );
    case 'square':
      return <svg class={c} viewBox="0 0 16 16" aria-hidden="true" focusable="false"><rect x="2" y="2" width="12" height="12" rx="1.5" fill="currentColor" /></svg>;
    case 'check':
      return <svg class={c} viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d="M2.5 8.5 6.5 12.5 13.5 3.5" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round" /></svg>;
    case 'cross':
      return <svg class={c} viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d="M3 3l10 10M13 3 3 13" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" /></svg>;
  }
}

export const PRESSURE_SHAPES: Record<1 | 2 | 3 | 4, Shape> = { 1: 'circle', 2: 'triangle', 3: 'diamond', 4: 'octagon' };
export const SEVERITY_SHAPES: Record<'info' | 'warning' | 'critical', Shape> = { info: 'circle', warning: 'triangle', critical: 'octagon' };
export const CONNECTION_SHAPES: Record<ConnectionState, Shape> = { live: 'circle', connecting: 'ring', reconnecting: 'ring', offline: 'cross' };
