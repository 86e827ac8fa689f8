package io.respawn.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Renders a benchmark CSV as a grouped bar chart (PNG): one bar group per category, one series
 * per server.
 *
 * <p>Input: a header line, then rows whose first column is the series (server), followed by the
 * columns named by {@code --category} (joined into the bar group label) and the numeric column
 * named by {@code --value}. Used by {@code scripts/bench-vs-redis.sh}; runs headless.
 */
@Command(name = "chart", description = "Render a benchmark CSV as a grouped bar chart (PNG).")
public final class CsvChart implements Callable<Integer> {

  @Option(names = "--csv", required = true, description = "Input CSV with a header line.")
  Path csv;

  @Option(names = "--png", required = true, description = "Output PNG file.")
  Path png;

  @Option(names = "--title", defaultValue = "", description = "Chart title.")
  String title;

  @Option(names = "--series", defaultValue = "server", description = "Column naming the series.")
  String seriesColumn;

  @Option(
      names = "--category",
      split = ",",
      defaultValue = "test,pipeline",
      description = "Columns forming the bar group label.")
  List<String> categoryColumns;

  @Option(names = "--value", defaultValue = "requests_per_sec", description = "Numeric column.")
  String valueColumn;

  @Override
  public Integer call() throws IOException {
    render(csv, png, title, seriesColumn, categoryColumns, valueColumn);
    return 0;
  }

  /**
   * Renders {@code csv} as a grouped bar chart into {@code png}: one series per distinct value of
   * {@code seriesColumn}, one bar group per distinct combination of {@code categoryColumns}.
   */
  public static void render(
      Path csv,
      Path png,
      String title,
      String seriesColumn,
      List<String> categoryColumns,
      String valueColumn)
      throws IOException {
    System.setProperty("java.awt.headless", "true");
    List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
    if (lines.size() < 2) {
      throw new IllegalArgumentException("no data rows in " + csv);
    }
    List<String> header = List.of(lines.get(0).split(","));
    int seriesAt = columnIndex(header, seriesColumn);
    int valueAt = columnIndex(header, valueColumn);
    List<Integer> categoryAt = new ArrayList<>();
    for (String c : categoryColumns) {
      categoryAt.add(columnIndex(header, c));
    }

    Set<String> categories = new LinkedHashSet<>();
    Map<String, Map<String, Double>> valueBySeries = new LinkedHashMap<>();
    for (String line : lines.subList(1, lines.size())) {
      if (line.isBlank()) {
        continue;
      }
      String[] cells = line.split(",");
      StringBuilder category = new StringBuilder();
      for (int i = 0; i < categoryAt.size(); i++) {
        if (i > 0) {
          category.append(' ').append(categoryColumns.get(i)).append('=');
        }
        category.append(cells[categoryAt.get(i)]);
      }
      categories.add(category.toString());
      valueBySeries
          .computeIfAbsent(cells[seriesAt], s -> new LinkedHashMap<>())
          .put(category.toString(), Double.parseDouble(cells[valueAt]));
    }

    CategoryChart chart =
        new CategoryChartBuilder()
            .width(1000)
            .height(520)
            .title(title)
            .xAxisTitle(String.join(" / ", categoryColumns))
            .yAxisTitle(valueColumn)
            .build();
    chart.getStyler().setAvailableSpaceFill(0.9);
    chart.getStyler().setOverlapped(false);
    List<String> xs = new ArrayList<>(categories);
    for (Map.Entry<String, Map<String, Double>> series : valueBySeries.entrySet()) {
      List<Double> ys = new ArrayList<>();
      for (String x : xs) {
        ys.add(series.getValue().getOrDefault(x, 0.0));
      }
      chart.addSeries(series.getKey(), xs, ys);
    }
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }

  private static int columnIndex(List<String> header, String name) {
    int at = header.indexOf(name);
    if (at < 0) {
      throw new IllegalArgumentException("column '" + name + "' not in header " + header);
    }
    return at;
  }
}
