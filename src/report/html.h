// Self-contained HTML pages with SVG plots drawn here (`--html FILE`): no network at view time,
// no library, one small inline script that marks the page rendered and shows the value under the
// pointer.
//
// Every plot is a <figure data-plot="ID"> holding an <svg>; every mark that shows a number carries
// it as data-value (formatted "{:.6g}") with data-label naming it, and a <title> tooltip, so a
// test can read the rendered document and compare the plots with the JSON report. Axes carry
// their unit in their label.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace scaleplan::report {

// A reference line across a plot (capacity, usable memory): its label and position on the value
// axis.
struct HtmlMarker {
  std::string label;
  double value = 0;
};

struct HtmlPoint {
  double x = 0, y = 0;
  std::string label;
  std::string group;  // a CSS class: "best", "start" or "" (the rest)
};

struct HtmlSeries {
  std::string name;
  std::vector<double> values;
  std::vector<double> xs;  // each value's x; empty: x = its index
  double X(size_t i) const { return xs.empty() ? static_cast<double>(i) : xs[i]; }
};

struct HtmlBox {
  int64_t row = 0;
  double start = 0, end = 0;
  std::string kind;   // a CSS class: "F", "B", "W" or other
  std::string label;  // tooltip
};

class HtmlPage {
 public:
  explicit HtmlPage(std::string title);

  void Heading(const std::string& text);
  void Paragraph(const std::string& text);
  // A table of text cells (escaped here).
  void Table(const std::vector<std::string>& header,
             const std::vector<std::vector<std::string>>& rows);
  // Horizontal bars, one per (label, value).
  void Bars(const std::string& id, const std::string& title, const std::string& axis,
            const std::vector<std::pair<std::string, double>>& bars,
            const std::vector<HtmlMarker>& markers = {});
  // Horizontal stacked bars: one row per label, one segment per category.
  void StackedBars(const std::string& id, const std::string& title, const std::string& axis,
                   const std::vector<std::string>& categories,
                   const std::vector<std::pair<std::string, std::vector<double>>>& rows,
                   const std::vector<HtmlMarker>& markers = {});
  // Points on two value axes; `markers` are vertical lines on the x axis.
  void Scatter(const std::string& id, const std::string& title, const std::string& x_axis,
               const std::string& y_axis, const std::vector<HtmlPoint>& points,
               const std::vector<HtmlMarker>& markers = {});
  // Lines over an index (iterations) or over each series' own x values.
  void Lines(const std::string& id, const std::string& title, const std::string& x_axis,
             const std::string& y_axis, const std::vector<HtmlSeries>& series);
  // A Gantt chart: one row per name, boxes on a time axis.
  void Timeline(const std::string& id, const std::string& title, const std::string& x_axis,
                const std::vector<std::string>& rows, const std::vector<HtmlBox>& boxes);

  std::string Render() const;

 private:
  std::string title_;
  std::string body_;
};

// Text made safe for HTML and SVG (&, <, >, quotes).
std::string HtmlEscape(const std::string& text);

}  // namespace scaleplan::report
