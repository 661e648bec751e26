// Display preferences: dark (high contrast, for wall displays at night) or light
// (calm, for laptops), and a large-text mode for wall displays. Chosen in the header,
// remembered in localStorage; a wall display can also be set up with
// ?theme=dark&size=large in its board link.

export type Theme = 'dark' | 'light';
export type TextSize = 'normal' | 'large';
export interface Prefs { theme: Theme; size: TextSize }

const KEY = 'pfm.board.prefs';

export function loadPrefs(search: string = window.location.search): Prefs {
  let stored: Partial<Prefs> = {};
  try { stored = JSON.parse(window.localStorage.getItem(KEY) ?? '{}') as Partial<Prefs>; } catch { stored = {}; }
  const q = new URLSearchParams(search);
  const qt = q.get('theme');
  const qs = q.get('size');
  const prefersLight = window.matchMedia?.('(prefers-color-scheme: light)').matches ?? false;
  const theme: Theme = qt === 'dark' || qt === 'light' ? qt : stored.theme === 'dark' || stored.theme === 'light' ? stored.theme : prefersLight ? 'light' : 'dark';
  const size: TextSize = qs === 'large' || qs === 'normal' ? qs : stored.size === 'large' ? 'large' : 'normal';
  return { theme, size };
}

export function savePrefs(p: Prefs): void {
  try { window.localStorage.setItem(KEY, JSON.stringify(p)); } catch { /* private mode: keep for this page only */ }
}

export function applyPrefs(p: Prefs, root: HTMLElement = document.documentElement): void {
  root.dataset.theme = p.theme;
  root.dataset.size = p.size;
  root.style.colorScheme = p.theme;
}
