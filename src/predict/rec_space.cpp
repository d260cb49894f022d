#include "predict/rec_space.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/text.h"
#include "recsys/planner.h"

namespace scaleplan::predict {

namespace {

std::vector<double> FeaturesOf(const RecPlanned& p, const recsys::RecJob& job) {
  std::vector<double> x;
  for (uint32_t v = 0; v < 3; ++v) x.push_back(p.knobs[0] == v ? 1 : 0);
  for (size_t d = 1; d < kRecKnobs; ++d) x.push_back(p.knobs[d] == 0 ? 1 : 0);
  x.push_back(std::log(static_cast<double>(job.world)));
  x.push_back(std::log(static_cast<double>(job.nodes)));
  x.push_back(std::log(job.local_batch));
  std::vector<double> mix(recsys::ShardingTypeNames().size(), 0.0);
  for (const recsys::TableSharding& t : p.sharding.tables) mix[static_cast<size_t>(t.type)] += 1;
  for (double& m : mix) m /= std::max<double>(1, static_cast<double>(p.sharding.tables.size()));
  x.insert(x.end(), mix.begin(), mix.end());
  const recsys::RecStep& s = p.physics;
  const double step = std::max(s.step_s, 1e-12);
  x.push_back(std::log(std::max(s.samples_per_s_per_gpu, 1e-12)));
  x.push_back((s.lookup_fwd_s + s.lookup_bwd_s) / step);
  x.push_back((s.pooled_fwd_s + s.pooled_bwd_s) / step);
  x.push_back((s.node_reduce_s + s.node_gather_s) / step);
  x.push_back((s.bottom_fwd_s + s.top_fwd_s + s.top_dgrad_s + s.dense_rest_s) / step);
  x.push_back((s.ids_exposed_s + s.allreduce_exposed_s) / step);
  x.push_back(s.dense_optimizer_s / step);
  x.push_back(s.overhead_s / step);
  x.push_back(s.max_hbm_bytes / std::max(s.hbm_capacity_bytes, 1.0));
  return x;
}

}  // namespace

const std::vector<std::pair<std::string, std::vector<std::string>>>& RecSpaceDims() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> dims = {
      {"planner", {"scaleplan", "torchrec", "hugectr"}},
      {"embedding_dtype", {"fp32", "fp16"}},
      {"comm_dtype", {"fp16", "fp32"}},
      {"pipeline_input_dist", {"true", "false"}},
      {"overlap_embeddings", {"true", "false"}},
      {"dense_grad_dtype", {"fp32", "bf16"}},
      {"index_dtype", {"int32", "int64"}},
  };
  return dims;
}

const std::vector<std::string>& RecFeatureNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = {"planner_scaleplan",  "planner_torchrec", "planner_hugectr",
                                  "embedding_fp32",     "comm_fp16",        "pipeline_input_dist",
                                  "overlap_embeddings", "dense_grad_fp32",  "index_int32",
                                  "log_gpus",           "log_nodes",        "log_local_batch"};
    for (const std::string& t : recsys::ShardingTypeNames()) n.push_back("tables_" + t);
    for (const char* f :
         {"physics_log_samples_per_s_per_gpu", "share_lookup", "share_pooled_all_to_all",
          "share_node_collectives", "share_dense_compute", "share_exposed_ids_and_all_reduce",
          "share_dense_optimizer", "share_overhead", "hbm_over_capacity"}) {
      n.push_back(f);
    }
    return n;
  }();
  return names;
}

std::string DescribeRecKnobs(const RecKnobs& k) {
  const auto& dims = RecSpaceDims();
  std::vector<std::string> parts;
  for (size_t d = 0; d < kRecKnobs; ++d) {
    parts.push_back(fmt::format("{} {}", dims[d].first, dims[d].second[k[d]]));
  }
  return Join(parts, ", ");
}

const std::string& RecKnobValue(const RecKnobs& k, size_t d) {
  return RecSpaceDims()[d].second[k[d]];
}

std::vector<RecKnobs> AllRecKnobs() {
  const auto& dims = RecSpaceDims();
  std::vector<RecKnobs> all;
  RecKnobs k{};
  for (bool more = true; more;) {
    all.push_back(k);
    more = false;
    for (size_t d = kRecKnobs; d-- > 0;) {
      if (++k[d] < dims[d].second.size()) {
        more = true;
        break;
      }
      k[d] = 0;
    }
  }
  return all;
}

spec::RecJobSpec RecJobOf(const spec::RecJobSpec& base, const RecKnobs& k) {
  spec::RecJobSpec job = base;
  job.model.embedding_dtype =
      RecKnobValue(k, 1) == "fp16" ? spec::EmbeddingDtype::kFp16 : spec::EmbeddingDtype::kFp32;
  job.pooled_bytes = RecKnobValue(k, 2) == "fp16" ? 2 : 4;
  job.pipeline_input_dist = RecKnobValue(k, 3) == "true";
  job.overlap_embeddings = RecKnobValue(k, 4) == "true";
  job.dense_grad_bytes = RecKnobValue(k, 5) == "bf16" ? 2 : 4;
  job.index_bytes = RecKnobValue(k, 6) == "int32" ? 4 : 8;
  return job;
}

Result<std::optional<RecPlanned>> PlanRecKnobs(const spec::RecJobSpec& base,
                                               const RecKnobs& knobs) {
  RecPlanned p;
  p.knobs = knobs;
  p.description = DescribeRecKnobs(knobs);
  p.job = RecJobOf(base, knobs);
  SP_ASSIGN_OR_RETURN(recsys::RecJob job, recsys::ResolveRecJob(p.job));
  SP_ASSIGN_OR_RETURN(recsys::CostModel cost, recsys::CostModel::For(job));
  recsys::PlannerOptions planner;
  planner.planner = RecKnobValue(knobs, 0);
  Result<recsys::ShardingPlan> sharding = recsys::RunPlanner(cost, planner);
  if (!sharding.ok()) return std::optional<RecPlanned>();
  p.sharding = std::move(*sharding);
  SP_ASSIGN_OR_RETURN(p.physics, cost.Evaluate(p.sharding));
  p.fits = p.physics.fits;
  p.x = FeaturesOf(p, job);
  if (p.x.size() != RecFeatureNames().size()) {
    return Status::Invalid(
        fmt::format("rec space: {} features for {} names", p.x.size(), RecFeatureNames().size()));
  }
  return std::optional<RecPlanned>(std::move(p));
}

}  // namespace scaleplan::predict
