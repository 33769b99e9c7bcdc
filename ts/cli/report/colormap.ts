/**
 * Colour maps for the report's heatmaps, shared by the server side (confusion-matrix cells) and the
 * in-page script (activation heatmaps, which receive these tables as JSON) so both draw the same colours.
 *
 * Sequential values (gates in [0, 1], counts) use viridis: perceptually uniform and readable in greyscale
 * and by colour-blind readers. Signed values (hidden and cell states around 0) use ColorBrewer's RdBu
 * reversed: blue below zero, near-white at zero, red above, so the sign is what the eye sees first.
 */

export type Rgb = [number, number, number];

/** matplotlib's viridis sampled at 9 evenly spaced points (0 → 1); linear interpolation in between. */
export const VIRIDIS: Rgb[] = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** ColorBrewer RdBu (11 classes), reversed so that 0 → dark blue, 0.5 → near white, 1 → dark red. */
export const DIVERGING: Rgb[] = [
  [5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240],
  [247, 247, 247], [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31],
];

/** Samples `table` at `t` in [0, 1] (clamped) with linear interpolation between stops. */
export function sampleColour(table: readonly Rgb[], t: number): Rgb {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (table.length - 1);
  const i = Math.min(table.length - 2, Math.floor(x));
  const f = x - i;
  const a = table[i];
  const b = table[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

/** CSS `rgb(...)` for a colour. */
export function cssRgb(c: Rgb): string {
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Relative luminance in [0, 1] (sRGB approximation), to pick black or white text on a coloured cell. */
export function luminance(c: Rgb): number {
  return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255;
}
