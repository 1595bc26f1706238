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
 * Draws the run with XChart into one PNG of panels over the optimizer step: the loss (per step, a
 * moving average, and the test loss after each epoch and at the end; log scale), the accuracy (the
 * same three) and, when the run measured it, a third panel with the gradient noise scale B_simple
 * (the smoothed value per step) beside the effective batch (log scale). Renders headless.
 */
final class Plot {
    private static final Color RAW = new Color(120, 160, 220, 110);
    private static final Color SMOOTH = new Color(20, 80, 170);
    private static final Color TEST = new Color(210, 60, 30);
    private static final Color NOISE = new Color(40, 140, 70);
    private static final Color BATCH = new Color(90, 90, 90);

    private Plot() {
    }

    /** A test-set result at an optimizer step. */
    record TestPoint(long step, double loss, double accuracy) {
    }

    static void write(Path png, String title, List<RunLog.Step> steps, List<TestPoint> tests) throws IOException {
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
        // The first steps' loss is many times the rest: a log axis shows both.
        lossChart.getStyler().setYAxisLogarithmic(true);
        for (XYChart c : List.of(lossChart, accChart)) {
            c.getStyler().setXAxisMin(0.0);
            c.getStyler().setXAxisMax(Math.max(1.0, x[x.length - 1]));
        }
        // XChart puts a tick on every x value when the x values of all series, in the order added,
        // are equally spaced (as steps 1, 2, 3, ... are), which crowds the axis. A hidden point at the
        // last step, added first, breaks that order and keeps XChart's ordinary, rounded ticks.
        for (XYChart c : List.of(lossChart, accChart)) {
            double[] y = c == lossChart ? loss : acc;
            XYSeries anchor = c.addSeries(" ", new double[] {x[x.length - 1]}, new double[] {y[y.length - 1]});
            anchor.setMarker(SeriesMarkers.NONE);
            anchor.setLineStyle(new BasicStroke(0f));
            anchor.setShowInLegend(false);
        }
        add(lossChart, "train loss (per step)", x, loss, RAW, 1f);
        add(lossChart, "train loss (mean of " + window + " steps)", x, movingAverage(loss, window), SMOOTH, 2f);
        add(accChart, "train accuracy (per step)", x, acc, RAW, 1f);
        add(accChart, "train accuracy (mean of " + window + " steps)", x, movingAverage(acc, window), SMOOTH, 2f);
        if (!tests.isEmpty()) {
            double[] tx = new double[tests.size()];
            double[] tl = new double[tx.length];
            double[] ta = new double[tx.length];
            for (int i = 0; i < tx.length; i++) {
                tx[i] = tests.get(i).step();
                tl[i] = finite(tests.get(i).loss());
                ta[i] = finite(tests.get(i).accuracy());
            }
            marked(add(lossChart, "test loss", tx, tl, TEST, 2f));
            marked(add(accChart, "test accuracy", tx, ta, TEST, 2f));
        }
        List<XYChart> charts = new java.util.ArrayList<>(List.of(lossChart, accChart));
        XYChart noise = noiseChart(title, steps, x[x.length - 1]);
        if (noise != null) {
            charts.add(noise);
        }
        // Drawn into a temporary file (XChart appends ".png") and renamed: a stopped run never leaves half a picture.
        String tmp = png + ".tmp";
        BitmapEncoder.saveBitmap(charts, charts.size(), 1, tmp, BitmapEncoder.BitmapFormat.PNG);
        AtomicFiles.move(Path.of(tmp + ".png"), png);
    }

    /**
     * B_simple per step where it is a positive number (early estimates can be negative or infinite:
     * the two averages are differences of noisy norms) and the effective batch; null when never measured.
     */
    private static XYChart noiseChart(String title, List<RunLog.Step> steps, double lastStep) {
        List<double[]> points = new java.util.ArrayList<>();
        for (RunLog.Step s : steps) {
            if (s.noiseScale() > 0 && Double.isFinite(s.noiseScale())) {
                points.add(new double[] {s.step(), s.noiseScale()});
            }
        }
        if (points.isEmpty()) {
            return null;
        }
        XYChart c = chart(title + ": gradient noise scale", "samples");
        c.getStyler().setYAxisLogarithmic(true);
        c.getStyler().setXAxisMin(0.0);
        c.getStyler().setXAxisMax(Math.max(1.0, lastStep));
        double[] nx = new double[points.size()];
        double[] ny = new double[points.size()];
        for (int i = 0; i < nx.length; i++) {
            nx[i] = points.get(i)[0];
            ny[i] = points.get(i)[1];
        }
        XYSeries anchor = c.addSeries(" ", new double[] {lastStep}, new double[] {ny[ny.length - 1]}); // see write()
        anchor.setMarker(SeriesMarkers.NONE);
        anchor.setLineStyle(new BasicStroke(0f));
        anchor.setShowInLegend(false);
        add(c, "B_simple (smoothed, per step)", nx, ny, NOISE, 2f);
        double[] bx = new double[steps.size()];
        double[] by = new double[steps.size()];
        for (int i = 0; i < bx.length; i++) {
            bx[i] = steps.get(i).step();
            by[i] = Math.max(1, steps.get(i).batch());
        }
        add(c, "effective batch", bx, by, BATCH, 1.5f);
        return c;
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart c = new XYChartBuilder().width(900).height(380).title(title).xAxisTitle("optimizer step").yAxisTitle(yTitle).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setPlotBackgroundColor(Color.WHITE);
        c.getStyler().setPlotGridLinesColor(new Color(225, 225, 225));
        c.getStyler().setAntiAlias(true);
        c.getStyler().setMarkerSize(7);
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
