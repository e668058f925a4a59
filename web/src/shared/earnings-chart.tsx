import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatLocalDate, formatMoney, type MoneyLike } from "./format.ts";

export interface ChartPoint {
  periodStart: string;
  accrued: MoneyLike;
  reversed: MoneyLike;
  paidOut: MoneyLike;
}

const SERIES = [
  { key: "accrued", label: "Accrued", stroke: "#1d4ed8" },
  { key: "reversed", label: "Reversed", stroke: "#b91c1c" },
  { key: "paidOut", label: "Paid out", stroke: "#047857" },
] as const;

/**
 * Earnings and payouts over time. The canvas is for the eye; the same
 * figures, exact, are in the table below it for screen readers and copying.
 * Plotting needs numbers, so amounts become floats here and nowhere else.
 */
export function EarningsChart({ points, title }: { points: ChartPoint[]; title: string }) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (!element || points.length === 0) return;
    const xs = points.map((point) => Date.parse(`${point.periodStart}T00:00:00Z`) / 1000);
    const data: uPlot.AlignedData = [xs, ...SERIES.map((series) => points.map((point) => Number(point[series.key].amount)))];
    const plot = new uPlot(
      {
        width: element.clientWidth || 600,
        height: 220,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "UTC"),
        series: [{}, ...SERIES.map((series) => ({ label: series.label, stroke: series.stroke, width: 2, points: { show: points.length < 40 } }))],
        axes: [{ stroke: "#1f2937" }, { stroke: "#1f2937", size: 70 }],
        legend: { show: true },
      },
      data,
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: element.clientWidth || 600, height: 220 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [points]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={holder} className="chart-canvas" aria-hidden="true" />
      <details>
        <summary>Show the figures as a table</summary>
        <div className="table-scroll" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Period from</th>
                {SERIES.map((series) => (
                  <th scope="col" key={series.key} className="num">
                    {series.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {points.map((point) => (
                <tr key={point.periodStart}>
                  <td>{formatLocalDate(point.periodStart)}</td>
                  {SERIES.map((series) => (
                    <td key={series.key} className="num">
                      {formatMoney(point[series.key])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
