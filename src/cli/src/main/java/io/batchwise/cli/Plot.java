package io.batchwise.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Draws the run with XChart into one PNG of two panels over the optimizer step: the loss (per
 * step, a moving average, and the test loss after each epoch) and the accuracy (the same three).
 * Renders headless.
 */
final class Plot {
    private static final Color RAW = new Color(160, 190, 230);
    private static final Color SMOOTH = new Color(20, 80, 170);
    private static final Color TEST = new Color(210, 60, 30);

    private Plot() {
    }

    static void write(Path png, String title, List<RunLog.Step> steps, List<RunLog.Epoch> epochs) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int n = steps.size();
        double[] x = new double[Math.max(1, n)];
        double[] loss = new double[x.length];
        double[] acc = new double[x.length];
        for (int i = 0; i < n; i++) {
            RunLog.Step s = steps.get(i);
            x[i] = s.step();
            loss[i] = finite(s.loss());
            acc[i] = finite(s.accuracy());
        }
        int window = Math.max(1, Math.min(100, n / 20));
        XYChart lossChart = chart(title + ": loss", "loss");
        XYChart accChart = chart(title + ": accuracy", "accuracy");
        accChart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
        add(lossChart, "train loss (per step)", x, loss, RAW, 1f);
        add(lossChart, "train loss (mean of " + window + " steps)", x, movingAverage(loss, window), SMOOTH, 2f);
        add(accChart, "train accuracy (per step)", x, acc, RAW, 1f);
        add(accChart, "train accuracy (mean of " + window + " steps)", x, movingAverage(acc, window), SMOOTH, 2f);
        if (!epochs.isEmpty()) {
            double[] ex = new double[epochs.size()];
            double[] el = new double[ex.length];
            double[] ea = new double[ex.length];
            for (int i = 0; i < ex.length; i++) {
                ex[i] = epochs.get(i).step();
                el[i] = finite(epochs.get(i).testLoss());
                ea[i] = finite(epochs.get(i).testAccuracy());
            }
            marked(add(lossChart, "test loss (end of epoch)", ex, el, TEST, 2f));
            marked(add(accChart, "test accuracy (end of epoch)", ex, ea, TEST, 2f));
        }
        String file = png.toString();
        BitmapEncoder.saveBitmap(List.of(lossChart, accChart), 2, 1,
                file.endsWith(".png") ? file.substring(0, file.length() - 4) : file, BitmapEncoder.BitmapFormat.PNG);
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart c = new XYChartBuilder().width(900).height(380).title(title).xAxisTitle("optimizer step").yAxisTitle(yTitle).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setPlotBackgroundColor(Color.WHITE);
        c.getStyler().setPlotGridLinesColor(new Color(225, 225, 225));
        c.getStyler().setAntiAlias(true);
        c.getStyler().setMarkerSize(7);
        c.getStyler().setXAxisDecimalPattern("#,##0");
        return c;
    }

    private static XYSeries add(XYChart c, String name, double[] x, double[] y, Color color, float width) {
        XYSeries s = c.addSeries(name, x, y);
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(color);
        s.setLineStyle(new BasicStroke(width));
        return s;
    }

    private static void marked(XYSeries s) {
        s.setMarker(SeriesMarkers.CIRCLE);
        s.setMarkerColor(TEST);
    }

    /** Mean of the last {@code window} values at each point (fewer at the start). */
    static double[] movingAverage(double[] v, int window) {
        double[] out = new double[v.length];
        double sum = 0;
        for (int i = 0; i < v.length; i++) {
            sum += v[i];
            if (i >= window) {
                sum -= v[i - window];
            }
            out[i] = sum / Math.min(i + 1, window);
        }
        return out;
    }

    private static double finite(double v) {
        return Double.isFinite(v) ? v : 0;
    }
}
