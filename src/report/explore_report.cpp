#include "report/explore_report.h"

#include <fmt/format.h>

#include <algorithm>

#include "report/launch.h"
#include "report/step_report.h"

namespace scaleplan::report {

namespace {

nlohmann::json RowJson(const explore::Row& row) {
  return nlohmann::json{{"name", row.name},
                        {"plan", row.plan},
                        {"network", row.network},
                        {"step_time_s", row.step_time_s},
                        {"event_step_time_s", row.event_step_time_s},
                        {"tokens_per_s_per_gpu", row.tokens_per_s_per_gpu},
                        {"speedup", row.speedup},
                        {"crossing", row.crossing},
                        {"crossing_exposed_s", row.crossing_exposed_s},
                        {"breakdown", BreakdownJson(row.breakdown)}};
}

}  // namespace

Result<LaunchText> JointLaunch(const explore::ExploreResult& result, const std::string& format) {
  LaunchText launch;
  if (format.empty()) return launch;
  SP_ASSIGN_OR_RETURN(const LaunchFormat* f, FindLaunchFormat(format, "launch format"));
  SP_ASSIGN_OR_RETURN(plan::Plan joint, plan::BuildPlan(result.joint.job));
  launch.format = f->name;
  launch.text = f->render(joint) + "# network stack: " + result.joint.network +
                " (fabric and collective-library settings, not launcher arguments)\n";
  return launch;
}

nlohmann::json ExploreJson(const explore::ExploreResult& r, const LaunchText& launch) {
  nlohmann::json j;
  j["boundary_tier"] = r.boundary_tier;
  j["engine"] = r.engine;
  j["baseline"] = RowJson(r.baseline);
  nlohmann::json rows = nlohmann::json::array();
  for (const explore::Row& row : r.one_at_a_time) rows.push_back(RowJson(row));
  j["one_at_a_time"] = rows;
  j["joint"] = RowJson(r.joint);
  nlohmann::json techs = nlohmann::json::array();
  for (const explore::Technology& t : explore::Technologies()) {
    techs.push_back({{"name", t.name}, {"layer", t.layer}, {"description", t.description}});
  }
  j["technologies"] = techs;
  if (!launch.format.empty()) j["launch"] = {{"format", launch.format}, {"text", launch.text}};
  return j;
}

std::string ExploreText(const spec::JobSpec& job, const explore::ExploreResult& r,
                        const LaunchText& launch) {
  std::string text =
      fmt::format("{} on {} x {} ({}), boundary tier: {}, ranked by the {} engine\n\n",
                  job.model.name, job.gpus > 0 ? job.gpus : job.cluster.CapacityGpus(),
                  job.cluster.gpu.name, job.cluster.name, r.boundary_tier, r.engine);
  text += fmt::format("  {:<11} {:>9} {:>9} {:>13} {:>8} {:<22} {:<10} {:>10}  {}\n", "optimized",
                      "step s", "event s", "tokens/s/GPU", "speedup", "network", "crossing",
                      "exposed s", "plan");
  auto line = [&](const explore::Row& row) {
    text += fmt::format("  {:<11} {:>9.3f} {:>9.3f} {:>13} {:>7.3f}x {:<22} {:<10} {:>10.3f}  {}\n",
                        row.name, row.step_time_s, row.event_step_time_s,
                        Fixed(row.tokens_per_s_per_gpu, 1), row.speedup, row.network, row.crossing,
                        row.crossing_exposed_s, row.plan);
  };
  line(r.baseline);
  for (const explore::Row& row : r.one_at_a_time) line(row);
  line(r.joint);
  double best_single = 0;
  for (const explore::Row& row : r.one_at_a_time) best_single = std::max(best_single, row.speedup);
  text += fmt::format(
      "\n  joint optimum: {:.1f}% faster than the baseline, {:.1f}% faster than the best single "
      "dimension\n",
      100.0 * (r.joint.speedup - 1.0), 100.0 * (r.joint.speedup / best_single - 1.0));
  if (r.engine == "analytical") {
    text += fmt::format(
        "  event engine (the same plans pass by pass): joint {:.1f}% faster than the baseline\n",
        100.0 * (r.baseline.event_step_time_s / r.joint.event_step_time_s - 1.0));
  }
  text += fmt::format("\n  where the time goes ({} engine, s per step):\n", r.engine);
  text += BreakdownComparison(r.baseline.breakdown, r.joint.breakdown, "baseline", "joint");
  text += "\n";
  text += "  network technologies, one per layer (assumptions):\n";
  for (const explore::Technology& t : explore::Technologies())
    text += "    " + t.layer + " " + t.name + ": " + t.description + "\n";
  if (!launch.format.empty()) {
    text +=
        "\n  launch configuration (" + launch.format + ") of the joint optimum:\n" + launch.text;
  }
  return text;
}

}  // namespace scaleplan::report
