// The flags that describe a job, generated from the spec schemas: --plan, --model, --cluster,
// --gpu, --gpus, --framework, and one flag per model, GPU, framework, plan and workload key
// (`scaleplan spec` lists them).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "search/space.h"
#include "spec/presets.h"
#include "spec/specs.h"

namespace scaleplan::cli {

// A job's starting plan from a launch configuration, applied over the resolved job: Megatron-LM
// arguments (--megatron-args) or a torchtitan job file (--torchtitan-config FILE), one of the two
// (neither: nothing changes). What the reader changed, ignored or approximated goes to `notes` as
// "scaleplan: note: ..." lines. `gpus_given`: the user gave --gpus, which a torchtitan file's
// degrees must then match (otherwise a file that gives every degree sets the GPU count).
Status ApplyLaunchInputs(const std::string& megatron_args, const std::string& torchtitan_config,
                         bool gpus_given, spec::JobSpec& job, std::ostream& notes);

class JobFlags {
 public:
  // `default_job`: the job preset used without --plan.
  explicit JobFlags(std::string default_job = std::string(spec::kDefaultJob))
      : default_job_(std::move(default_job)) {}

  // Adds the flags to `command`. The object must outlive the parse.
  void Register(CLI::App* command);

  // The default job (or --plan), with every given flag applied in a fixed order: references
  // first (--model, --cluster, --gpu), then --gpus, then key overrides.
  // With `apply_plan_keys` false the plan flags are left out (search reads them as ranges).
  Result<spec::JobSpec> Resolve(bool apply_plan_keys = true) const;

  // The job with the plan flags the user gave read as search pins (search::ApplyPins: one value
  // pins a dimension, a list restricts it): what search, suggest and testbed search over.
  Result<search::PinnedSearch> ResolveSearch() const;

  // The plan flags the user gave, as search pins (what ResolveSearch applies).
  std::vector<search::Pin> Pins() const;

  // Whether --gpus was given.
  bool GpusGiven() const { return gpus_opt_ != nullptr && gpus_opt_->count() > 0; }

  // `status` (a plan built from Resolve's job) with, where its key is a plan key or the GPU
  // count the user did not give and the job is the default one with its model, cluster, GPU or
  // GPU count replaced, where that key came from: the default job's plan is for its own model and
  // cluster.
  Status Explain(const Status& status) const;

 private:
  struct KeyFlag {
    std::string section;  // "model", "gpu", "plan", "workload"
    std::string key;
    std::string flag;
    std::string value;
    CLI::Option* option = nullptr;
  };
  template <class T>
  void AddKeys(CLI::App* command, const spec::Schema<T>& schema);

  std::string default_job_;
  std::string job_ref_;
  std::string model_ref_;
  std::string cluster_ref_;
  std::string gpu_ref_;
  std::string gpus_;
  std::string framework_ref_;
  std::vector<std::string> calibration_refs_;
  CLI::Option* job_opt_ = nullptr;
  CLI::Option* model_opt_ = nullptr;
  CLI::Option* cluster_opt_ = nullptr;
  CLI::Option* gpu_opt_ = nullptr;
  CLI::Option* gpus_opt_ = nullptr;
  CLI::Option* framework_opt_ = nullptr;
  CLI::Option* calibration_opt_ = nullptr;
  std::vector<std::unique_ptr<KeyFlag>> keys_;
};

}  // namespace scaleplan::cli
