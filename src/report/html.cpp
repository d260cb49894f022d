#include "report/html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace scaleplan::report {

namespace {

constexpr double kWidth = 760;
constexpr double kLeft = 190, kRight = 24, kTop = 16, kBottom = 46;
constexpr size_t kColors = 10;  // .c0 .. .c9 in the page's style

std::string Num(double v) { return fmt::format("{:.6g}", v); }

// Round tick steps (1, 2, 5 x 10^k) covering [lo, hi] with about `target` ticks.
std::vector<double> Ticks(double lo, double hi, int target = 6) {
  if (!(hi > lo)) hi = lo + 1;
  double raw = (hi - lo) / target;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9 && ticks.size() < 50;
       t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
  }
  return ticks;
}

// A value axis: data range -> pixels.
struct Axis {
  double lo = 0, hi = 1, from = 0, to = 1;
  double operator()(double v) const { return from + (v - lo) / (hi - lo) * (to - from); }
};

Axis FitAxis(double lo, double hi, double from, double to) {
  // A range tiny against its values (equal points) would print the same tick many times.
  double scale = std::max(std::abs(lo), std::abs(hi));
  if (!(hi - lo > scale * 1e-6)) {
    double pad = scale > 0 ? scale * 0.05 : 0.5;
    lo -= pad, hi += pad;
  }
  std::vector<double> t = Ticks(lo, hi);
  return {std::min(lo, t.front()), std::max(hi, t.back()), from, to};
}

std::string Tick(double v) {
  double a = std::abs(v);
  if (a >= 1e12) return fmt::format("{:g}T", v / 1e12);
  if (a >= 1e9) return fmt::format("{:g}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:g}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:g}k", v / 1e3);
  return fmt::format("{:g}", v);
}

std::string XAxis(const Axis& x, double y, double top, const std::string& label) {
  std::string out = fmt::format(
      "<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>\n", x.from, y,
      x.to, y);
  for (double t : Ticks(x.lo, x.hi)) {
    double px = x(t);
    out += fmt::format(
        "<line class=\"grid\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>"
        "<text class=\"tick\" x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4}</text>\n",
        px, top, y, y + 14, Tick(t));
  }
  out += fmt::format(
      "<text class=\"label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
      (x.from + x.to) / 2, y + 34, HtmlEscape(label));
  return out;
}

std::string YAxis(const Axis& y, double x, double right, const std::string& label) {
  std::string out = fmt::format(
      "<line class=\"axis\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>\n", x,
      y.from, y.to);
  for (double t : Ticks(y.lo, y.hi)) {
    double py = y(t);
    out += fmt::format(
        "<line class=\"grid\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\"/>"
        "<text class=\"tick\" x=\"{3:.1f}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
        x, py, right, x - 6, py + 4, Tick(t));
  }
  double mid = (y.from + y.to) / 2;
  out += fmt::format(
      "<text class=\"label\" x=\"{0:.1f}\" y=\"{1:.1f}\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 {0:.1f} {1:.1f})\">{2}</text>\n",
      x - 58, mid, HtmlEscape(label));
  return out;
}

std::string Mark(const std::string& label, double value) {
  return fmt::format("data-label=\"{}\" data-value=\"{}\"><title>{}: {}</title>", HtmlEscape(label),
                     Num(value), HtmlEscape(label), Num(value));
}

std::string Figure(const std::string& id, const std::string& title, double height,
                   const std::string& svg) {
  return fmt::format(
      "<figure data-plot=\"{0}\"><figcaption>{1}</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/"
      "svg\" width=\"{2:.0f}\" height=\"{3:.0f}\" viewBox=\"0 0 {2:.0f} {3:.0f}\" role=\"img\" "
      "aria-label=\"{1}\">\n{4}</svg></figure>\n",
      HtmlEscape(id), HtmlEscape(title), kWidth, height, svg);
}

std::string MarkerLines(const Axis& x, double top, double bottom,
                        const std::vector<HtmlMarker>& markers) {
  std::string out;
  for (size_t i = 0; i < markers.size(); ++i) {
    const HtmlMarker& m = markers[i];
    double px = x(m.value);
    double ly = top + 10 + 12 * static_cast<double>(i);  // one line per marker: no overlap
    out += fmt::format(
        "<line class=\"marker\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
        "{3}</line>"
        "<text class=\"marker-label\" x=\"{4:.1f}\" y=\"{5:.1f}\" text-anchor=\"end\">{6}</text>\n",
        px, top, bottom, Mark(m.label, m.value), px - 3, ly, HtmlEscape(m.label));
  }
  return out;
}

double MaxOf(double a, const std::vector<HtmlMarker>& markers) {
  for (const HtmlMarker& m : markers) a = std::max(a, m.value);
  return a;
}

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

HtmlPage::HtmlPage(std::string title) : title_(std::move(title)) {}

void HtmlPage::Heading(const std::string& text) { body_ += "<h2>" + HtmlEscape(text) + "</h2>\n"; }

void HtmlPage::Paragraph(const std::string& text) { body_ += "<p>" + HtmlEscape(text) + "</p>\n"; }

void HtmlPage::Table(const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows) {
  body_ += "<table><thead><tr>";
  for (const std::string& h : header) body_ += "<th>" + HtmlEscape(h) + "</th>";
  body_ += "</tr></thead><tbody>\n";
  for (const auto& row : rows) {
    body_ += "<tr>";
    for (const std::string& cell : row) body_ += "<td>" + HtmlEscape(cell) + "</td>";
    body_ += "</tr>\n";
  }
  body_ += "</tbody></table>\n";
}

void HtmlPage::Bars(const std::string& id, const std::string& title, const std::string& axis,
                    const std::vector<std::pair<std::string, double>>& bars,
                    const std::vector<HtmlMarker>& markers) {
  constexpr double kRow = 22;
  double height = kTop + kRow * static_cast<double>(bars.size()) + kBottom;
  double hi = 0;
  for (const auto& [label, value] : bars) hi = std::max(hi, value);
  // Room after the longest bar for its value.
  Axis x = FitAxis(0, MaxOf(hi, markers) * 1.15, kLeft, kWidth - kRight);
  double bottom = height - kBottom;
  std::string svg = XAxis(x, bottom, kTop, axis);
  for (size_t i = 0; i < bars.size(); ++i) {
    double y = kTop + kRow * static_cast<double>(i);
    double w = std::max(0.0, x(bars[i].second) - x(0));
    svg += fmt::format(
        "<text class=\"name\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>"
        "<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" {}</rect>"
        "<text class=\"value\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        kLeft - 8, y + 15, HtmlEscape(bars[i].first), x(0), y + 3, w, kRow - 6,
        Mark(bars[i].first, bars[i].second), x(0) + w + 4, y + 15, Num(bars[i].second));
  }
  svg += MarkerLines(x, kTop, bottom, markers);
  body_ += Figure(id, title, height, svg);
}

void HtmlPage::StackedBars(const std::string& id, const std::string& title, const std::string& axis,
                           const std::vector<std::string>& categories,
                           const std::vector<std::pair<std::string, std::vector<double>>>& rows,
                           const std::vector<HtmlMarker>& markers) {
  // The legend wraps: five categories a line.
  constexpr double kRow = 20;
  const double kLegend = 18 * static_cast<double>((categories.size() + 4) / 5) + 4;
  double height = kTop + kLegend + kRow * static_cast<double>(rows.size()) + kBottom;
  double hi = 0;
  for (const auto& [label, values] : rows) {
    double sum = 0;
    for (double v : values) sum += v;
    hi = std::max(hi, sum);
  }
  Axis x = FitAxis(0, MaxOf(hi, markers), kLeft, kWidth - kRight);
  double top = kTop + kLegend, bottom = height - kBottom;
  std::string svg;
  for (size_t c = 0; c < categories.size(); ++c) {
    double lx = kLeft + 110 * static_cast<double>(c % 5);
    double ly = kTop + 18 * static_cast<double>(c / 5);
    svg += fmt::format(
        "<rect class=\"seg c{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"10\" height=\"10\"/>"
        "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        c % kColors, lx, ly, lx + 14, ly + 9, HtmlEscape(categories[c]));
  }
  svg += XAxis(x, bottom, top, axis);
  for (size_t i = 0; i < rows.size(); ++i) {
    double y = top + kRow * static_cast<double>(i);
    svg +=
        fmt::format("<text class=\"name\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>",
                    kLeft - 8, y + 14, HtmlEscape(rows[i].first));
    double at = 0;
    for (size_t c = 0; c < rows[i].second.size() && c < categories.size(); ++c) {
      double v = rows[i].second[c];
      svg += fmt::format(
          "<rect class=\"seg c{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
          "{}</rect>",
          c % kColors, x(at), y + 2, std::max(0.0, x(at + v) - x(at)), kRow - 5,
          Mark(rows[i].first + " " + categories[c], v));
      at += v;
    }
    svg += "\n";
  }
  svg += MarkerLines(x, top, bottom, markers);
  body_ += Figure(id, title, height, svg);
}

void HtmlPage::Scatter(const std::string& id, const std::string& title, const std::string& x_axis,
                       const std::string& y_axis, const std::vector<HtmlPoint>& points,
                       const std::vector<HtmlMarker>& markers) {
  constexpr double kHeight = 360;
  double xlo = 0, xhi = 0, ylo = 0, yhi = 0;
  bool first = true;
  for (const HtmlPoint& p : points) {
    xlo = first ? p.x : std::min(xlo, p.x), xhi = first ? p.x : std::max(xhi, p.x);
    ylo = first ? p.y : std::min(ylo, p.y), yhi = first ? p.y : std::max(yhi, p.y);
    first = false;
  }
  xhi = MaxOf(xhi, markers);
  double xpad = (xhi - xlo) * 0.05 + 1e-9 * std::abs(xhi),
         ypad = (yhi - ylo) * 0.08 + 1e-9 * std::abs(yhi);
  Axis x = FitAxis(xlo - xpad, xhi + xpad, kLeft, kWidth - kRight);
  Axis y = FitAxis(ylo - ypad, yhi + ypad, kHeight - kBottom, kTop);
  std::string svg =
      XAxis(x, kHeight - kBottom, kTop, x_axis) + YAxis(y, kLeft, kWidth - kRight, y_axis);
  // The rest first, so that the highlighted points are drawn on top.
  std::vector<const HtmlPoint*> order;
  for (const HtmlPoint& p : points) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(), [](const HtmlPoint* a, const HtmlPoint* b) {
    return a->group.empty() && !b->group.empty();
  });
  for (const HtmlPoint* p : order) {
    svg += fmt::format(
        "<circle class=\"point {}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" data-x=\"{}\" "
        "data-label=\"{}\" data-value=\"{}\"><title>{}: {} ; {}</title></circle>\n",
        p->group, x(p->x), y(p->y), p->group.empty() ? 4 : 7, Num(p->x), HtmlEscape(p->label),
        Num(p->y), HtmlEscape(p->label), Num(p->x), Num(p->y));
  }
  svg += MarkerLines(x, kTop, kHeight - kBottom, markers);
  body_ += Figure(id, title, kHeight, svg);
}

void HtmlPage::Lines(const std::string& id, const std::string& title, const std::string& x_axis,
                     const std::string& y_axis, const std::vector<HtmlSeries>& series) {
  constexpr double kHeight = 320;
  double ylo = 0, yhi = 0;
  double xhi = 5;
  bool first = true;
  for (const HtmlSeries& s : series) {
    for (size_t i = 0; i < s.values.size(); ++i) xhi = std::max(xhi, s.X(i));
    for (double v : s.values) {
      ylo = first ? v : std::min(ylo, v), yhi = first ? v : std::max(yhi, v);
      first = false;
    }
  }
  double pad = (yhi - ylo) * 0.08 + 1e-9 * std::abs(yhi);
  Axis x = FitAxis(0, xhi, kLeft, kWidth - kRight - 110);
  Axis y = FitAxis(ylo - pad, yhi + pad, kHeight - kBottom, kTop);
  std::string svg =
      XAxis(x, kHeight - kBottom, kTop, x_axis) + YAxis(y, kLeft, kWidth - kRight - 110, y_axis);
  for (size_t s = 0; s < series.size(); ++s) {
    std::string pts;
    for (size_t i = 0; i < series[s].values.size(); ++i) {
      pts += fmt::format("{:.1f},{:.1f} ", x(series[s].X(i)), y(series[s].values[i]));
    }
    svg += fmt::format("<polyline class=\"line c{}\" points=\"{}\"/>\n", s, pts);
    for (size_t i = 0; i < series[s].values.size(); ++i) {
      svg +=
          fmt::format("<circle class=\"dot c{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" {}</circle>",
                      s, x(series[s].X(i)), y(series[s].values[i]),
                      Mark(fmt::format("{} {}", series[s].name, i), series[s].values[i]));
    }
    double ly = kTop + 14 + 18 * static_cast<double>(s);
    svg += fmt::format(
        "\n<rect class=\"seg c{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"10\" height=\"10\"/>"
        "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        s, kWidth - kRight - 100, ly - 9, kWidth - kRight - 86, ly, HtmlEscape(series[s].name));
  }
  body_ += Figure(id, title, kHeight, svg);
}

void HtmlPage::Timeline(const std::string& id, const std::string& title, const std::string& x_axis,
                        const std::vector<std::string>& rows, const std::vector<HtmlBox>& boxes) {
  constexpr double kRow = 18, kLegend = 22;
  double height = kTop + kLegend + kRow * static_cast<double>(rows.size()) + kBottom;
  double hi = 0;
  for (const HtmlBox& b : boxes) hi = std::max(hi, b.end);
  Axis x = FitAxis(0, hi, kLeft, kWidth - kRight);
  double top = kTop + kLegend, bottom = height - kBottom;
  std::string svg;
  const std::pair<const char*, const char*> legend[] = {
      {"F", "forward"}, {"B", "backward"}, {"W", "weight gradients"}, {"idle", "bubble (idle)"}};
  for (size_t c = 0; c < 4; ++c) {
    double lx = kLeft + 140 * static_cast<double>(c);
    svg += fmt::format(
        "<rect class=\"pass {}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"10\" height=\"10\"/>"
        "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        legend[c].first, lx, kTop, lx + 14, kTop + 9, legend[c].second);
  }
  svg += XAxis(x, bottom, top, x_axis);
  for (size_t r = 0; r < rows.size(); ++r) {
    double y = top + kRow * static_cast<double>(r);
    svg += fmt::format(
        "<rect class=\"pass idle\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>"
        "<text class=\"name\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        x(0), y + 2, x(hi) - x(0), kRow - 4, kLeft - 8, y + 13, HtmlEscape(rows[r]));
  }
  for (const HtmlBox& b : boxes) {
    double y = top + kRow * static_cast<double>(b.row);
    svg += fmt::format(
        "<rect class=\"pass {}\" x=\"{:.2f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"{:.1f}\" "
        "data-start=\"{}\" data-label=\"{}\" data-value=\"{}\"><title>{}: {} to "
        "{}</title></rect>\n",
        HtmlEscape(b.kind), x(b.start), y + 2, std::max(0.3, x(b.end) - x(b.start)), kRow - 4,
        Num(b.start), HtmlEscape(b.label), Num(b.end - b.start), HtmlEscape(b.label), Num(b.start),
        Num(b.end));
  }
  body_ += Figure(id, title, height, svg);
}

std::string HtmlPage::Render() const {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" +
         HtmlEscape(title_) +
         "</title>\n<style>\n"
         "body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:800px;color:#222}\n"
         "h1{font-size:22px}h2{font-size:17px;margin-top:28px}\n"
         "figure{margin:12px 0}figcaption{font-weight:600;margin-bottom:4px}\n"
         "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px "
         "8px;text-align:left}\n"
         ".axis{stroke:#333}.grid{stroke:#e3e3e3}.tick{font-size:11px;fill:#444}"
         ".label{font-size:12px;fill:#222}.name{font-size:12px;fill:#222}.value{font-size:11px;"
         "fill:#444}\n"
         ".bar{fill:#4e79a7}.marker{stroke:#c0392b;stroke-width:1.5;stroke-dasharray:5 3}"
         ".marker-label{font-size:11px;fill:#c0392b}\n"
         ".c0{fill:#4e79a7;stroke:#4e79a7}.c1{fill:#f28e2b;stroke:#f28e2b}.c2{fill:#59a14f;"
         "stroke:#59a14f}.c3{fill:#e15759;stroke:#e15759}.c4{fill:#b07aa1;stroke:#b07aa1}"
         ".c5{fill:#9c755f;stroke:#9c755f}.c6{fill:#edc948;stroke:#edc948}.c7{fill:#ff9da7;"
         "stroke:#ff9da7}.c8{fill:#76b7b2;stroke:#76b7b2}.c9{fill:#bab0ac;stroke:#bab0ac}\n"
         ".line{fill:none;stroke-width:2}.point{fill:#9aa9bb}.point.best{fill:#2e7d32}"
         ".point.start{fill:#c0392b}\n"
         ".pass.F{fill:#4e79a7}.pass.B{fill:#f28e2b}.pass.W{fill:#59a14f}.pass.idle{fill:#f4f4f4}"
         "\n#hover{position:fixed;bottom:8px;right:8px;background:#fffbe6;border:1px solid "
         "#ddd;padding:2px 6px;font-size:12px}\n"
         "</style></head>\n<body>\n<h1>" +
         HtmlEscape(title_) + "</h1>\n" + body_ +
         "<div id=\"hover\"></div>\n<script>\n"
         "(function(){\n"
         "  var figures = document.querySelectorAll('figure[data-plot]');\n"
         "  document.body.setAttribute('data-plots', String(figures.length));\n"
         "  var hover = document.getElementById('hover');\n"
         "  document.addEventListener('mouseover', function(e) {\n"
         "    var t = e.target.closest ? e.target.closest('[data-value]') : null;\n"
         "    if (t) hover.textContent = t.getAttribute('data-label') + ': ' + "
         "t.getAttribute('data-value');\n"
         "  });\n"
         "  document.body.setAttribute('data-rendered', 'yes');\n"
         "})();\n</script>\n</body></html>\n";
}

}  // namespace scaleplan::report
