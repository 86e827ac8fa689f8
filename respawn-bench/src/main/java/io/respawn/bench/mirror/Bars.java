package io.respawn.bench.mirror;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;

/** A grouped bar chart as a headless PNG (one bar group per x value, one series per line). */
final class Bars {
  private Bars() {}

  static void save(Path png, String title, String xTitle, String yTitle, List<String> xs,
      Map<String, List<Double>> series, boolean logY) throws IOException {
    System.setProperty("java.awt.headless", "true");
    CategoryChart chart = new CategoryChartBuilder().width(900).height(480).title(title)
        .xAxisTitle(xTitle).yAxisTitle(yTitle).build();
    chart.getStyler().setAvailableSpaceFill(0.85);
    chart.getStyler().setOverlapped(false);
    chart.getStyler().setYAxisLogarithmic(logY);
    if (logY) {
      chart.getStyler().setYAxisMin(0.1); // bars start at the axis; log axes cannot hold 0
    }
    for (Map.Entry<String, List<Double>> s : series.entrySet()) {
      List<Double> ys = s.getValue();
      if (logY) {
        ys = ys.stream().map(v -> Math.max(v, 0.1)).toList(); // log scale: 0 drawn as 0.1
      }
      chart.addSeries(s.getKey(), xs, ys);
    }
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }
}
