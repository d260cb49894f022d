#include "cli/job_flags.h"

#include <fmt/format.h>

#include "cli/options.h"
#include "core/text.h"
#include "report/launch.h"
#include "spec/presets.h"
#include "spec/readers.h"
#include "validate/calibrate.h"

namespace scaleplan::cli {

Status ApplyLaunchInputs(const std::string& megatron_args, const std::string& torchtitan_config,
                         bool gpus_given, spec::JobSpec& job, std::ostream& notes) {
  if (!megatron_args.empty() && !torchtitan_config.empty()) {
    return Status::Invalid(
        "--megatron-args and --torchtitan-config both give the plan (allowed: one of the two)");
  }
  if (megatron_args.empty() && torchtitan_config.empty()) return Status::Ok();
  report::LaunchParse parsed;
  std::string framework;
  if (!megatron_args.empty()) {
    SP_ASSIGN_OR_RETURN(parsed, report::ApplyMegatronArgs(megatron_args, job));
    framework = "Megatron-LM";
  } else {
    SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(torchtitan_config));
    SP_ASSIGN_OR_RETURN(parsed,
                        report::ApplyTorchtitanToml(text, torchtitan_config, job, gpus_given));
    framework = "torchtitan";
  }
  if (!parsed.changed.empty()) {
    notes << "scaleplan: note: the " << framework
          << " configuration changes the job's plan (what it does not give takes " << framework
          << "'s default): " << Printable(Join(parsed.changed, ", "), 2000) << "\n";
  }
  for (const std::string& note : parsed.notes) {
    notes << "scaleplan: note: " << Printable(note, 500) << "\n";
  }
  if (!parsed.ignored.empty()) {
    notes << "scaleplan: note: ignored " << framework << " settings that do not describe the plan: "
          << Printable(Join(parsed.ignored, " "), 2000) << "\n";
  }
  return Status::Ok();
}

template <class T>
void JobFlags::AddKeys(CLI::App* command, const spec::Schema<T>& schema) {
  for (const spec::Field<T>& f : schema.fields()) {
    if (!f.set) continue;
    auto key = std::make_unique<KeyFlag>();
    key->section = schema.section();
    key->key = f.info.key;
    key->flag = "--" + f.info.flag;
    std::string help = f.info.help;
    if (!f.info.unit.empty()) help += " [" + f.info.unit + "]";
    help += " (" + f.info.allowed + "; key " + schema.section() + "." + f.info.key + ")";
    key->option = command->add_option(key->flag, key->value, help)
                      ->type_name(std::string(TypeName(f.info.kind)))
                      ->group(schema.section() == "model"       ? "Model overrides"
                              : schema.section() == "gpu"       ? "GPU overrides"
                              : schema.section() == "plan"      ? "Plan"
                              : schema.section() == "framework" ? "Framework overrides"
                                                                : "Workload");
    keys_.push_back(std::move(key));
  }
}

void JobFlags::Register(CLI::App* command) {
  job_opt_ = command
                 ->add_option(
                     "--plan", job_ref_,
                     "Job file (YAML) or job preset to start from (default: " + default_job_ + ")")
                 ->group("Job");
  model_opt_ = command
                   ->add_option("--model", model_ref_,
                                "Model preset, model YAML file, or Hugging Face config.json")
                   ->group("Job");
  cluster_opt_ =
      command->add_option("--cluster", cluster_ref_, "Cluster preset or YAML file")->group("Job");
  gpu_opt_ =
      command->add_option("--gpu", gpu_ref_, "GPU preset or YAML file (replaces the cluster's)")
          ->group("Job");
  gpus_opt_ = command
                  ->add_option("--gpus", gpus_,
                               "GPUs the job uses (default: the job's; the whole --cluster where "
                               "the job's do not fit it)")
                  ->group("Job");
  framework_opt_ = command
                       ->add_option("--framework", framework_ref_,
                                    "Framework preset or YAML file: its plan keys replace the "
                                    "job's framework defaults (`scaleplan presets` lists them)")
                       ->group("Job");
  calibration_opt_ = command
                         ->add_option("--calibration", calibration_refs_,
                                      "Calibration file from `scaleplan calibrate --out` (may be "
                                      "repeated; the one for the job's GPU and framework applies)")
                         ->group("Job");
  AddKeys(command, spec::PlanSchema());
  AddKeys(command, spec::WorkloadSchema());
  AddKeys(command, spec::ModelSchema());
  AddKeys(command, spec::GpuSchema());
  AddKeys(command, spec::FrameworkSchema());
}

std::vector<search::Pin> JobFlags::Pins() const {
  std::vector<search::Pin> pins;
  for (const auto& key : keys_) {
    if (key->option->count() > 0 && key->section == "plan")
      pins.push_back({key->key, key->value, key->flag});
  }
  return pins;
}

Result<search::PinnedSearch> JobFlags::ResolveSearch() const {
  SP_ASSIGN_OR_RETURN(spec::JobSpec job, Resolve(/*apply_plan_keys=*/false));
  return search::ApplyPins(job, Pins());
}

Result<spec::JobSpec> JobFlags::Resolve(bool apply_plan_keys) const {
  std::string ref = job_opt_->count() > 0 ? job_ref_ : default_job_;
  // An empty name would read as "not given" (the job's own framework) where the other presets
  // refuse it.
  if (framework_opt_->count() > 0 && framework_ref_.empty()) {
    return Status::Invalid(
        "--framework = '' (allowed: a framework preset (`scaleplan presets`) or a YAML file)");
  }
  SP_ASSIGN_OR_RETURN(
      spec::JobSpec job,
      spec::LoadJob(ref, framework_opt_->count() > 0 ? framework_ref_ : std::string()));
  if (model_opt_->count() > 0) {
    SP_ASSIGN_OR_RETURN(job.model, spec::LoadModel(model_ref_));
  }
  if (cluster_opt_->count() > 0) {
    SP_ASSIGN_OR_RETURN(job.cluster, spec::LoadCluster(cluster_ref_));
  }
  if (gpu_opt_->count() > 0) {
    SP_ASSIGN_OR_RETURN(job.cluster.gpu, spec::LoadGpu(gpu_ref_));
    job.cluster.gpu_name = gpu_ref_;
  }
  if (gpus_opt_->count() > 0) {
    SP_ASSIGN_OR_RETURN(job.gpus, spec::ParseGpuCount(gpus_, "--gpus"));
  } else if (cluster_opt_->count() > 0 && job_opt_->count() == 0 &&
             job.gpus > job.cluster.CapacityGpus()) {
    // The default job's GPUs do not fit the cluster given: the whole cluster (--gpus' help).
    job.gpus = job.cluster.CapacityGpus();
  }
  for (const auto& key : keys_) {
    if (key->option->count() == 0) continue;
    spec::RawValue raw = spec::ScalarValue(key->value, key->flag);
    if (key->section == "model") {
      SP_RETURN_IF_ERROR(spec::ModelSchema().Set(job.model, key->key, raw));
    } else if (key->section == "gpu") {
      SP_RETURN_IF_ERROR(spec::GpuSchema().Set(job.cluster.gpu, key->key, raw));
    } else if (key->section == "framework") {
      SP_RETURN_IF_ERROR(spec::FrameworkSchema().Set(job.framework, key->key, raw));
    } else if (key->section == "plan") {
      if (apply_plan_keys) SP_RETURN_IF_ERROR(spec::PlanSchema().Set(job.plan, key->key, raw));
    } else {
      SP_RETURN_IF_ERROR(spec::WorkloadSchema().Set(job.workload, key->key, raw));
    }
  }
  // A batch given in one unit replaces the other: --batch-tokens alone must not disagree with a
  // global_batch that came from the job file, and vice versa.
  for (const auto& key : keys_) {
    if (key->option->count() == 0 || key->section != "workload") continue;
    bool tokens_given = key->key == "batch_tokens";
    bool seqs_given = key->key == "global_batch";
    bool other_given = false;
    for (const auto& other : keys_) {
      if (other->option->count() > 0 && other->section == "workload" &&
          other->key == (tokens_given ? "global_batch" : "batch_tokens")) {
        other_given = true;
      }
    }
    if (tokens_given && !other_given) job.workload.global_batch = 0;
    if (seqs_given && !other_given) job.workload.batch_tokens = 0;
  }
  // Fitted factors apply last: they replace the preset's (and a flag's) values of those factors.
  SP_ASSIGN_OR_RETURN(std::vector<validate::Calibration> calibrations,
                      validate::LoadCalibrations(calibration_refs_));
  SP_RETURN_IF_ERROR(validate::ApplyCalibrations(calibrations, job));
  return job;
}

Status JobFlags::Explain(const Status& status) const {
  const bool replaced = model_opt_->count() > 0 || cluster_opt_->count() > 0 ||
                        gpu_opt_->count() > 0 || gpus_opt_->count() > 0;
  const std::string& key = status.key();
  if (status.ok() || job_opt_->count() > 0 || !replaced ||
      (key.rfind("plan.", 0) != 0 && key != "job.gpus") ||
      (key == "job.gpus" && gpus_opt_->count() > 0)) {
    return status;
  }
  // A key the user gave is theirs to mend.
  for (const auto& k : keys_) {
    if (k->option->count() > 0 && k->section == "plan" && key == "plan." + k->key) return status;
  }
  return status.WithMessage(fmt::format(
      "{} (the plan keys not given are the default job's, {}, planned for its own model and "
      "cluster: give them (--tp, --cp, --pp, --vp, ...) or --plan FILE, or let `scaleplan search` "
      "choose)",
      status.message(), default_job_));
}

}  // namespace scaleplan::cli
