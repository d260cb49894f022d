// The base job of the ranking co-design space's commands (rec-testbed, rec-suggest;
// predict/rec_space.h): a ranking model and a cluster (presets or files), the GPUs and the global
// batch, which the space does not vary.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "predict/rec_suggest.h"
#include "recsys/study.h"
#include "spec/schema.h"

namespace scaleplan::cli {

struct RecSpaceJobArgs {
  std::string model = "mlperf-dlrm-dcnv2";
  std::string cluster = "dgx-h100-ib";
  int64_t gpus = 64;
  int64_t global_batch = 55296;
};

inline const spec::Schema<RecSpaceJobArgs>& RecSpaceJobArgsSchema() {
  static const spec::Schema<RecSpaceJobArgs> schema = [] {
    using A = RecSpaceJobArgs;
    spec::Schema<A> s("rec_space_job");
    s.Text("model", &A::model, "the ranking model: a preset or YAML file");
    s.Text("cluster", &A::cluster, "a cluster preset or YAML file");
    s.Integer("gpus", &A::gpus, 1, predict::kMaxRecLogGpus, "", "GPUs the model trains on");
    s.Integer("global_batch", &A::global_batch, 1, predict::kMaxRecLogBatch, "",
              "samples per step over all GPUs (fixed: it sets the model's quality)");
    return s;
  }();
  return schema;
}

inline Result<spec::RecJobSpec> LoadRecSpaceJob(const RecSpaceJobArgs& args) {
  recsys::RecSource source;
  source.model = args.model;
  source.cluster = args.cluster;
  source.gpus = args.gpus;
  spec::RecJobSpec keys;
  keys.global_batch = args.global_batch;
  return recsys::LoadRecJob(source, keys);
}

}  // namespace scaleplan::cli
