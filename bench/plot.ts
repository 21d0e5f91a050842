import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** One figure's data for a plot: points of one or more named series. */
export interface BenchSeries {
  /** File name (without .svg) under docs/bench/. */
  readonly name: string;
  readonly title: string;
  readonly x: { readonly label: string; readonly scale?: 'linear' | 'log' };
  readonly y: { readonly label: string; readonly scale?: 'linear' | 'log' };
  readonly points: ReadonlyArray<{ readonly series: string; readonly x: number; readonly y: number }>;
}

/**
 * Draws a series as an SVG line chart with Vega-Lite (a declarative spec compiled to Vega and
 * rendered headless by Vega's own SVG renderer: no DOM, no browser, no hand-written SVG).
 */
export async function plotSvg(s: BenchSeries): Promise<string> {
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: s.title,
    width: 520,
    height: 300,
    background: 'white',
    data: { values: s.points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: s.x.label, scale: { type: s.x.scale ?? 'linear' } },
      y: { field: 'y', type: 'quantitative', title: s.y.label, scale: { type: s.y.scale ?? 'linear' } },
      // Legend under the chart, labels in full (Vega truncates them at 160 px by default).
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2, labelLimit: 0 } },
    },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
