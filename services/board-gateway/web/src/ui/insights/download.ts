// Saving a chart as SVG or PNG, and data as CSV, from the page (no server round trip
// for the chart). The PNG is drawn from the SVG through a data: image (the page's CSP
// allows data: images) onto a canvas at twice the size.

export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function svgText(svg: SVGSVGElement): string {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  copy.removeAttribute('class');
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(copy)}\n`;
}

export const saveSvg = (svg: SVGSVGElement, name: string): void => saveBlob(new Blob([svgText(svg)], { type: 'image/svg+xml' }), `${name}.svg`);

export async function savePng(svg: SVGSVGElement, name: string, scale = 2): Promise<void> {
  const vb = svg.viewBox.baseVal;
  const [w, h] = [vb.width || svg.clientWidth, vb.height || svg.clientHeight];
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText(svg))}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(h * scale);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no canvas');
  ctx.scale(scale, scale);
  ctx.drawImage(img, 0, 0, w, h);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the PNG could not be made');
  saveBlob(blob, `${name}.png`);
}

export const saveCsv = (text: string, name: string): void => saveBlob(new Blob([text], { type: 'text/csv;charset=utf-8' }), `${name}.csv`);
