// Reading a torchtitan job TOML back into a job (report/launch.h: ApplyTorchtitanToml).
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/text.h"
#include "report/launch.h"
#include "spec/readers.h"

namespace scaleplan::report {

namespace {

// The keys of one TOML document, read with torchtitan's defaults; every key read is remembered,
// so that the rest can be listed as ignored.
class TomlKeys {
 public:
  TomlKeys(const toml::table& root, std::string origin) : root_(root), origin_(std::move(origin)) {}

  bool Has(const std::string& path) const { return static_cast<bool>(Node(path)); }

  Result<int64_t> Integer(const std::string& path, int64_t fallback, int64_t min, int64_t max) {
    toml::node_view<const toml::node> node = Use(path);
    if (!node) return fallback;
    std::optional<int64_t> v = node.value_exact<int64_t>();
    if (!node.is_integer() || !v || *v < min || *v > max) {
      return Bad(node, path, fmt::format("an integer from {} to {}", min, max));
    }
    return *v;
  }

  Result<bool> Boolean(const std::string& path, bool fallback) {
    toml::node_view<const toml::node> node = Use(path);
    if (!node) return fallback;
    if (!node.is_boolean()) return Bad(node, path, "true or false");
    return *node.value_exact<bool>();
  }

  // A string from `allowed`; an integer is accepted as its text where `integers` says so
  // (selective_ac_option = 2 and = "2" both occur).
  Result<std::string> Choice(const std::string& path, const std::string& fallback,
                             const std::vector<std::string>& allowed, bool integers = false) {
    toml::node_view<const toml::node> node = Use(path);
    if (!node) return fallback;
    std::string text;
    if (node.is_string()) {
      text = *node.value_exact<std::string>();
    } else if (integers && node.is_integer()) {
      text = std::to_string(*node.value_exact<int64_t>());
    } else {
      return Bad(node, path, "one of: " + Join(allowed, ", "));
    }
    bool integer_text =
        integers && !text.empty() &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!integer_text && std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
      return Bad(node, path,
                 "one of: " + Join(allowed, ", ") + (integers ? ", or a positive integer" : ""));
    }
    return text;
  }

  // Any string.
  Result<std::string> Text(const std::string& path) {
    toml::node_view<const toml::node> node = Use(path);
    if (!node) return std::string();
    if (!node.is_string()) return Bad(node, path, "a string");
    return *node.value_exact<std::string>();
  }

  // The strings of an array (model.converters); anything else is an error.
  Result<std::vector<std::string>> Strings(const std::string& path) {
    toml::node_view<const toml::node> node = Use(path);
    std::vector<std::string> out;
    if (!node) return out;
    const toml::array* array = node.as_array();
    if (array == nullptr) return Bad(node, path, "an array of strings");
    for (const toml::node& item : *array) {
      if (!item.is_string()) return Bad(node, path, "an array of strings");
      out.push_back(*item.value_exact<std::string>());
    }
    return out;
  }

  // Every key not read, as "section.key" (at most 40).
  std::vector<std::string> Unread() const {
    std::vector<std::pair<std::string, toml::node_view<const toml::node>>> unread;
    Leaves(root_, "", unread);
    std::vector<std::string> out;
    for (size_t i = 0; i < unread.size() && i < 40; ++i) {
      out.push_back(Printable(unread[i].first, 80));
    }
    if (unread.size() > out.size()) {
      out.push_back(fmt::format("(and {} more)", unread.size() - out.size()));
    }
    return out;
  }

  // A key the file gives that nothing read, one typo away from a key the reader asked for and the
  // file does not give (tensor_paralel_degree for tensor_parallel_degree), is refused: ignored,
  // it would leave the key it meant at its default without a word.
  Status CheckNearMisses() const {
    std::vector<std::string> absent;
    for (const std::string& path : used_) {
      if (!Has(path)) absent.push_back(path);
    }
    std::vector<std::pair<std::string, toml::node_view<const toml::node>>> unread;
    Leaves(root_, "", unread);
    // A job file has a few hundred keys; a huge one is checked on its first kMaxChecked.
    constexpr size_t kMaxChecked = 4096;
    if (unread.size() > kMaxChecked) unread.resize(kMaxChecked);
    for (const auto& [path, node] : unread) {
      std::string meant = NearMiss(path, absent);
      if (meant.empty()) continue;
      return Status::Invalid(fmt::format(
          "{}: {} is one typo away from {}, which the file does not give (allowed: {}; a key "
          "that does not describe the plan is ignored, but one this close to a key that does is "
          "refused rather than leaving that key at torchtitan's default)",
          Where(node), Printable(path, 80), meant, meant));
    }
    return Status::Ok();
  }

  const std::string& origin() const { return origin_; }

  // "file:line:column" of a key the file gives, or the file alone.
  std::string At(const std::string& path) const {
    toml::node_view<const toml::node> node = Node(path);
    return node ? Where(node) : origin_;
  }

 private:
  toml::node_view<const toml::node> Node(const std::string& path) const {
    return root_.at_path(std::string_view(path));
  }
  toml::node_view<const toml::node> Use(const std::string& path) {
    used_.insert(path);
    return Node(path);
  }
  std::string Where(toml::node_view<const toml::node> node) const {
    if (!node) return origin_;
    const toml::source_region& r = node.node()->source();
    return fmt::format("{}:{}:{}", origin_, r.begin.line, r.begin.column);
  }
  Status Bad(toml::node_view<const toml::node> node, const std::string& path,
             const std::string& allowed) const {
    std::string shown;
    if (node.is_string()) {
      shown = "\"" + Printable(*node.value_exact<std::string>(), 60) + "\"";
    } else if (node.is_integer()) {
      shown = std::to_string(*node.value_exact<int64_t>());
    } else if (node.is_boolean()) {
      shown = *node.value_exact<bool>() ? "true" : "false";
    } else if (node.is_floating_point()) {
      // A float as TOML wrote it: 8192.0 is not the integer 8192 (fmt writes both as "8192").
      shown = fmt::format("{}", *node.value_exact<double>());
      if (shown.find_first_of(".eEn") == std::string::npos) shown += ".0";
    } else {
      shown = node.is_table() ? "a table" : node.is_array() ? "an array" : "a date or time";
    }
    return Status::Invalid(
        fmt::format("{}: {} = {} (allowed: {})", Where(node), path, shown, allowed));
  }
  // Every key not read, with its node.
  void Leaves(const toml::table& table, const std::string& prefix,
              std::vector<std::pair<std::string, toml::node_view<const toml::node>>>& out) const {
    for (const auto& [key, value] : table) {
      std::string path =
          prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
      if (const toml::table* sub = value.as_table()) {
        Leaves(*sub, path, out);
      } else if (used_.count(path) == 0) {
        // The node itself: a quoted key holding '.' is not found again by its dotted path.
        out.emplace_back(path, toml::node_view<const toml::node>(&value));
      }
    }
  }

  const toml::table& root_;
  std::string origin_;
  std::set<std::string> used_;
};

// torchtitan's schedules and the plan's; multi-stage ones place two stages on a rank by default.
struct ScheduleName {
  const char* name;
  spec::Schedule schedule;
  bool multi_stage;
};
constexpr ScheduleName kSchedules[] = {{"1F1B", spec::Schedule::k1F1B, false},
                                       {"GPipe", spec::Schedule::kGpipe, false},
                                       {"Interleaved1F1B", spec::Schedule::kInterleaved, true},
                                       {"ZBVZeroBubble", spec::Schedule::kZbV, true}};

// The parser recurses once per dotted part of a key or header (and per nested array or inline
// table): a line with thousands of them exhausts the stack. torchtitan's keys have at most 4.
Status CheckNesting(std::string_view text, const std::string& origin) {
  constexpr int kMaxDepth = 64;
  int line = 1, depth = 0;
  bool quoted = false;
  char quote = 0;
  for (char c : text) {
    if (c == '\n') {
      ++line, depth = 0;
      continue;
    }
    if (quoted) {
      if (c == quote) quoted = false;
      continue;
    }
    if (c == '"' || c == '\'') {
      quoted = true, quote = c;
    } else if (c == '.' || c == '[' || c == '{') {
      if (++depth > kMaxDepth) {
        return Status::Invalid(fmt::format(
            "{}:{}: a key, header or value nests more than {} levels (allowed: torchtitan's "
            "keys, a few levels deep)",
            origin, line, kMaxDepth));
      }
    }
  }
  return Status::Ok();
}

std::string ToUpper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// torchtitan's llama3 flavours and this project's presets.
std::string PresetOf(const std::string& name, const std::string& flavor) {
  if (name != "llama3") return "";
  if (flavor == "8B") return "llama3-8b";
  if (flavor == "70B") return "llama3-70b";
  if (flavor == "405B") return "llama3-405b";
  return "";
}

}  // namespace

Result<LaunchParse> ApplyTorchtitanToml(std::string_view text, const std::string& origin,
                                        spec::JobSpec& job, bool keep_gpus) {
  SP_RETURN_IF_ERROR(CheckText(text, origin));
  SP_RETURN_IF_ERROR(CheckNesting(text, origin));
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(origin));
  } catch (const toml::parse_error& e) {
    const toml::source_region& r = e.source();
    return Status::Parse(fmt::format("{}:{}:{}: {} (allowed: a TOML document)", origin,
                                     r.begin.line, r.begin.column,
                                     Printable(e.description(), 200)));
  }
  TomlKeys keys(root, origin);
  LaunchParse parse;
  for (const char* section : {"model", "parallelism", "training", "activation_checkpoint",
                              "compile", "float8", "quantize"}) {
    if (root.contains(section) && !root[section].is_table()) {
      return Status::Invalid(
          fmt::format("{}:{}: {} is not a table (allowed: a [{}] section of keys)", origin,
                      root[section].node()->source().begin.line, section, section));
    }
  }
  if (!root.contains("parallelism") && !root.contains("training")) {
    parse.notes.push_back(
        "the file has no [parallelism] or [training] section: the plan is torchtitan's defaults");
  }
  const std::string model_before = job.model.name;
  const int64_t seq_before = job.workload.seq_len, batch_before = job.workload.global_batch;
  const nlohmann::json before = spec::PlanSchema().ToJson(job.plan);
  constexpr int64_t kMax = spec::kMaxRanks;

  // [model]: a llama3 flavour names the model; a float8 converter switches FP8 on (the
  // [quantize.linear.float8] table alone only configures it: torchtitan's tomls carry it off).
  SP_ASSIGN_OR_RETURN(std::string model_name, keys.Text("model.name"));
  if (!keys.Has("model.flavor")) {
    parse.notes.push_back(
        fmt::format("the file names no model flavour: the job's model {} is kept", job.model.name));
  } else {
    SP_ASSIGN_OR_RETURN(std::string flavor, keys.Text("model.flavor"));
    model_name = Printable(model_name, 40);
    flavor = Printable(flavor, 40);
    std::string preset = PresetOf(model_name, flavor);
    if (!preset.empty()) {
      SP_ASSIGN_OR_RETURN(job.model, spec::LoadModel(preset));
      parse.notes.push_back(
          fmt::format("model {} {} is the preset {}", model_name, flavor, preset));
    } else if (std::string upper = ToUpper(flavor); !PresetOf(model_name, upper).empty()) {
      // torchtitan's flavour names are case-sensitive: "8b" is no flavour there.
      return Status::Invalid(fmt::format(
          "{}: model.flavor = \"{}\" is no {} flavour (allowed: \"{}\", as torchtitan spells it)",
          keys.At("model.flavor"), flavor, model_name, upper));
    } else {
      parse.notes.push_back(fmt::format(
          "model {} {} has no preset here (llama3 8B, 70B, 405B): the job's model {} is kept",
          model_name, flavor, job.model.name));
    }
  }
  SP_ASSIGN_OR_RETURN(std::vector<std::string> converters, keys.Strings("model.converters"));
  bool fp8 = false;
  for (const std::string& c : converters) {
    if (c == "float8" || c == "quantize.linear.float8") {
      fp8 = true;
    } else {
      return Status::Invalid(fmt::format(
          "{}: model.converters holds \"{}\" (allowed: quantize.linear.float8, or float8 in "
          "v0.1; other converters are not modelled)",
          origin, Printable(c, 60)));
    }
  }
  SP_ASSIGN_OR_RETURN(bool legacy_fp8, keys.Boolean("training.enable_float8_linear", false));
  fp8 = fp8 || legacy_fp8;

  // The framework: the job's when it is torchtitan (its calibration and flags kept), else
  // torchtitan's preset; then the file's compile, FP8 recipe and LM-head filter.
  spec::FrameworkSpec framework = job.framework;
  if (framework.name != "torchtitan") {
    SP_ASSIGN_OR_RETURN(framework, spec::LoadFramework("torchtitan"));
    parse.notes.push_back(
        fmt::format("framework {} becomes torchtitan's preset (the file is a torchtitan job; give "
                    "--framework torchtitan to keep framework flags and a calibration)",
                    job.framework.name));
  }
  SP_ASSIGN_OR_RETURN(bool compile, keys.Boolean("compile.enable", false));
  SP_ASSIGN_OR_RETURN(bool legacy_compile, keys.Boolean("training.compile", false));
  framework.compile = compile || legacy_compile;
  // compile.components (torchtitan since 2025) names what is compiled; its default is the model
  // and the loss. The older training.compile compiled the blocks only.
  if (compile) {
    SP_ASSIGN_OR_RETURN(std::vector<std::string> components, keys.Strings("compile.components"));
    framework.compile_loss =
        !keys.Has("compile.components") ||
        std::find(components.begin(), components.end(), "loss") != components.end();
  } else {
    framework.compile_loss = false;
  }
  // optimizer.implementation: "fused" by default; "foreach" and "for-loop" run the Adam step one
  // elementwise op at a time.
  SP_ASSIGN_OR_RETURN(std::string implementation, keys.Choice("optimizer.implementation", "fused",
                                                              {"fused", "foreach", "for-loop"}));
  framework.optimizer_step = implementation == "fused" ? spec::OptimizerStep::kFused
                                                       : spec::OptimizerStep::kUnfused;
  const char* recipe_path = keys.Has("quantize.linear.float8.recipe_name")
                                ? "quantize.linear.float8.recipe_name"
                                : "float8.recipe_name";
  SP_ASSIGN_OR_RETURN(
      std::string recipe,
      keys.Choice(recipe_path, "tensorwise", {"tensorwise", "rowwise", "rowwise_with_gw_hp"}));
  framework.fp8_recipe =
      recipe == "tensorwise" ? spec::Fp8Recipe::kTensorwise : spec::Fp8Recipe::kRowwise;
  {
    const char* filter_path = keys.Has("quantize.linear.float8.filter_fqns")
                                  ? "quantize.linear.float8.filter_fqns"
                                  : "float8.filter_fqns";
    SP_ASSIGN_OR_RETURN(std::vector<std::string> filtered, keys.Strings(filter_path));
    framework.fp8_lm_head = std::find(filtered.begin(), filtered.end(), "output") == filtered.end();
  }
  if (recipe == "rowwise_with_gw_hp") {
    parse.notes.push_back("FP8 recipe rowwise_with_gw_hp is modelled as rowwise");
  }

  // [parallelism], with torchtitan's defaults.
  spec::PlanSpec p;
  p.placement = {spec::Dim::kTp, spec::Dim::kCp, spec::Dim::kDp, spec::Dim::kPp};
  p.sequence_parallel = true;  // torchtitan's TP always shards the norms (sequence parallelism)
  p.dp_overlap = true;         // FSDP2 prefetches and reduces during the backward pass
  p.precision = fp8 ? spec::Precision::kFp8 : spec::Precision::kBf16;
  SP_ASSIGN_OR_RETURN(int64_t replicate,
                      keys.Integer("parallelism.data_parallel_replicate_degree", 1, 1, kMax));
  SP_ASSIGN_OR_RETURN(int64_t shard,
                      keys.Integer("parallelism.data_parallel_shard_degree", -1, -1, kMax));
  if (shard == 0) {
    return Status::Invalid(fmt::format(
        "{}: parallelism.data_parallel_shard_degree = 0 (allowed: -1 for the rest, or 1 to {})",
        keys.At("parallelism.data_parallel_shard_degree"), kMax));
  }
  SP_ASSIGN_OR_RETURN(p.tp, keys.Integer("parallelism.tensor_parallel_degree", 1, 1, kMax));
  SP_ASSIGN_OR_RETURN(p.tp_comm_overlap,
                      keys.Boolean("parallelism.enable_async_tensor_parallel", false));
  SP_ASSIGN_OR_RETURN(p.cp, keys.Integer("parallelism.context_parallel_degree", 1, 1, kMax));
  SP_ASSIGN_OR_RETURN(std::string rotate, keys.Choice("parallelism.context_parallel_rotate_method",
                                                      "allgather", {"allgather", "alltoall"}));
  p.cp_algorithm = rotate == "alltoall" ? spec::CpAlgorithm::kRing : spec::CpAlgorithm::kAllGather;
  SP_ASSIGN_OR_RETURN(p.pp, keys.Integer("parallelism.pipeline_parallel_degree", 1, 1, kMax));
  SP_ASSIGN_OR_RETURN(p.ep, keys.Integer("parallelism.expert_parallel_degree", 1, 1, kMax));
  SP_ASSIGN_OR_RETURN(p.etp, keys.Integer("parallelism.expert_tensor_parallel_degree", 1, 1, kMax));
  // torchtitan applies it to MoE layers only (its default, 1, is in every file): a dense model
  // has no expert to split, and the plan takes 0 (tp), as it does.
  if (!job.model.IsMoe()) p.etp = 0;
  // shard -1 is what the other degrees leave of the job's GPUs; every degree given states the
  // GPU count itself (torchtitan checks their product against the world size). The product is
  // taken in doubles first: each degree is at most kMax, so it may pass 2^63.
  int64_t gpus = job.gpus > 0 ? job.gpus : job.cluster.CapacityGpus();
  const double stated = static_cast<double>(p.tp) * static_cast<double>(p.cp) *
                        static_cast<double>(p.pp) * static_cast<double>(replicate) *
                        static_cast<double>(shard > 0 ? shard : 1);
  const std::string degrees = fmt::format(
      "tensor {} x context {} x pipeline {} x data_parallel_replicate {}{}", p.tp, p.cp, p.pp,
      replicate, shard > 0 ? fmt::format(" x data_parallel_shard {}", shard) : std::string());
  const double capacity = static_cast<double>(job.cluster.CapacityGpus());
  if (stated > static_cast<double>(kMax) || (capacity > 0 && stated > capacity)) {
    return Status::Invalid(fmt::format(
        "{}: parallelism degrees {} = {:.0f} GPUs (allowed: at most the cluster's {} GPUs)",
        keys.At("parallelism.tensor_parallel_degree"), degrees, stated,
        job.cluster.CapacityGpus()));
  }
  const int64_t model_ranks = p.tp * p.cp * p.pp;
  if (shard > 0) {
    const auto product = static_cast<int64_t>(stated);
    if (product != gpus) {
      if (keep_gpus) {
        return Status::Invalid(fmt::format(
            "{}: parallelism degrees {} = {} GPUs, but the job is given {} (allowed: degrees "
            "whose product is {}, data_parallel_shard_degree = -1 to take what the others leave, "
            "or --gpus {})",
            keys.At("parallelism.data_parallel_shard_degree"), degrees, product, gpus, gpus,
            product));
      }
      parse.changed.push_back(fmt::format("gpus: {} -> {} ({})", gpus, product, degrees));
      job.gpus = product;
      gpus = product;
    }
  }
  if (shard == -1 && gpus > 0 && gpus % (model_ranks * replicate) != 0) {
    // torchtitan's -1 takes what the other degrees leave: they must divide the job's GPUs.
    return Status::Invalid(fmt::format(
        "{}: parallelism degrees tensor {} x context {} x pipeline {} x data_parallel_replicate "
        "{} = {} do not divide the job's {} GPUs, so data_parallel_shard_degree = -1 has no "
        "value (allowed: degrees whose product divides {})",
        keys.At("parallelism.tensor_parallel_degree"), p.tp, p.cp, p.pp, replicate,
        model_ranks * replicate, gpus, gpus));
  }
  if (shard == -1 && gpus > 0) shard = gpus / (model_ranks * replicate);
  if (shard == 1 && p.cp == 1) {
    // DDP: every replica holds everything.
    p.zero = spec::ZeroMode::kZero0;
    p.dp = replicate;
  } else {
    // FSDP over dp_shard x cp (CP ranks shard together, as in torchtitan's mesh).
    SP_ASSIGN_OR_RETURN(std::string reshard,
                        keys.Choice("parallelism.fsdp_reshard_after_forward", "default",
                                    {"default", "always", "never"}));
    bool resharded = reshard == "always" || (reshard == "default" && p.pp == 1);
    p.zero = resharded ? spec::ZeroMode::kZero3 : spec::ZeroMode::kFsdp;
    p.dp = shard > 0 ? replicate * shard : 0;  // -1: the GPUs the other dimensions leave
    // The plan's HSDP shards over dp / dp_replicate; with one shard a rank (FSDP over CP only)
    // the plan shards over dp x cp instead.
    p.dp_replicate = shard == 1 ? 1 : replicate;
    if (shard == 1 && replicate > 1) {
      parse.notes.push_back(
          "FSDP over the context-parallel ranks only (data_parallel_shard_degree = 1) is modelled "
          "as sharding over dp x cp");
    }
  }

  // The pipeline: schedule, stages per rank, trimmed edge stages.
  SP_ASSIGN_OR_RETURN(std::string schedule_name,
                      keys.Choice("parallelism.pipeline_parallel_schedule", "1F1B",
                                  {"1F1B", "GPipe", "Interleaved1F1B", "ZBVZeroBubble"}));
  const ScheduleName* schedule = &kSchedules[0];
  for (const ScheduleName& s : kSchedules) {
    if (schedule_name == s.name) schedule = &s;
  }
  SP_ASSIGN_OR_RETURN(int64_t pp_microbatch,
                      keys.Integer("parallelism.pipeline_parallel_microbatch_size", 1, 1, kMax));
  SP_ASSIGN_OR_RETURN(
      int64_t first_less,
      keys.Integer("parallelism.pipeline_parallel_first_stage_less_layers", 1, 0, 1));
  SP_ASSIGN_OR_RETURN(
      int64_t last_less,
      keys.Integer("parallelism.pipeline_parallel_last_stage_less_layers", 1, 0, 1));
  SP_ASSIGN_OR_RETURN(
      int64_t layers_per_stage,
      keys.Integer("parallelism.pipeline_parallel_layers_per_stage", 0, 1, 1 << 20));
  if (p.pp > 1) {
    if (first_less != last_less) {
      return Status::Invalid(fmt::format(
          "{}: parallelism.pipeline_parallel_first_stage_less_layers = {} and "
          "last_stage_less_layers = {} (allowed: equal, both 0 or both 1: the plan trims both "
          "edge stages or neither)",
          keys.At("parallelism.pipeline_parallel_first_stage_less_layers"), first_less, last_less));
    }
    p.trim_edge_stages = first_less == 1;
    p.schedule = schedule->schedule;
    p.micro_batch = pp_microbatch;
    int64_t slots = job.model.layers + (p.trim_edge_stages ? 2 : 0);
    if (layers_per_stage > 0) {
      if (slots % (p.pp * layers_per_stage) != 0) {
        return Status::Invalid(fmt::format(
            "{}: parallelism.pipeline_parallel_layers_per_stage = {} does not split {} layers "
            "over {} pipeline ranks (allowed: a divisor of {})",
            keys.At("parallelism.pipeline_parallel_layers_per_stage"), layers_per_stage, slots,
            p.pp, slots / p.pp));
      }
      p.vp = slots / (p.pp * layers_per_stage);
    } else {
      p.vp = schedule->multi_stage ? 2 : 1;
      // Without layers_per_stage torchtitan splits the layers itself, unevenly where it must.
      if (slots % (p.pp * p.vp) != 0) {
        p.uneven_layers = true;
        parse.notes.push_back(fmt::format(
            "{} layers split unevenly over {} pipeline chunks (plan.uneven_layers), as torchtitan "
            "does without pipeline_parallel_layers_per_stage",
            job.model.layers, p.pp * p.vp));
      }
    }
  }

  // [training]: sequence and batch sizes, the gradient reduction's type.
  SP_ASSIGN_OR_RETURN(int64_t seq_len, keys.Integer("training.seq_len", 2048, 1, 1 << 26));
  int64_t local_fallback = 8;
  if (keys.Has("training.batch_size") && !keys.Has("training.local_batch_size")) {
    SP_ASSIGN_OR_RETURN(local_fallback, keys.Integer("training.batch_size", 8, 1, kMax));
  }
  SP_ASSIGN_OR_RETURN(int64_t local,
                      keys.Integer("training.local_batch_size", local_fallback, 1, kMax));
  SP_ASSIGN_OR_RETURN(int64_t global,
                      keys.Integer("training.global_batch_size", -1, -1, int64_t{1} << 40));
  if (global == 0) {  // torchtitan's "not set" is -1; 0 sequences a step has no meaning
    return Status::Invalid(
        fmt::format("{}: training.global_batch_size = 0 (allowed: -1, one local batch a data-"
                    "parallel rank, or an integer from 1 to {})",
                    keys.At("training.global_batch_size"), int64_t{1} << 40));
  }
  // torchtitan v0.2 reduces gradients in FP32 only.
  SP_ASSIGN_OR_RETURN(std::string reduce,
                      keys.Choice("training.mixed_precision_reduce", "float32", {"float32"}));
  p.grad_reduce_dtype = spec::GradReduceDtype::kFp32;
  if (p.pp > 1) {
    if (local % p.micro_batch != 0) {
      return Status::Invalid(
          fmt::format("{}: training.local_batch_size = {} is not a multiple of "
                      "parallelism.pipeline_parallel_microbatch_size = {} (allowed: a multiple)",
                      keys.At("training.local_batch_size"), local, p.micro_batch));
    }
  } else {
    p.micro_batch = local;  // without pipelining a local batch is one micro-batch
  }
  int64_t dp = p.dp > 0 ? p.dp : (gpus > 0 && gpus % model_ranks == 0 ? gpus / model_ranks : 0);
  if (global > 0 && dp > 0) {
    if (global % (local * dp) != 0) {
      return Status::Invalid(fmt::format(
          "{}: training.global_batch_size = {} is not a multiple of local_batch_size x data "
          "parallel ranks = {} x {} (allowed: a multiple; torchtitan accumulates whole local "
          "batches)",
          keys.At("training.global_batch_size"), global, local, dp));
    }
    if (p.pp > 1 && global / (local * dp) > 1) {
      parse.notes.push_back(fmt::format(
          "torchtitan runs {} accumulation passes of {} micro-batches, each with its own pipeline "
          "fill and drain; the plan models one pass of {} (its bubble is smaller)",
          global / (local * dp), local / p.micro_batch, global / (dp * p.micro_batch)));
    }
  }
  if (global <= 0) {
    // torchtitan's -1: one local batch per data-parallel rank, no accumulation.
    if (dp == 0) {
      return Status::Invalid(fmt::format(
          "{}: training.global_batch_size is not given and the data-parallel size is unknown "
          "(allowed: a global_batch_size, or a job whose GPUs the tensor, context and pipeline "
          "degrees divide)",
          origin));
    }
    global = local * dp;
  }
  job.workload.seq_len = seq_len;
  job.workload.global_batch = global;
  job.workload.batch_tokens = 0;

  // [activation_checkpoint]: none, full, or selective (per op, or full AC of every N-th block).
  SP_ASSIGN_OR_RETURN(std::string mode,
                      keys.Choice("activation_checkpoint.mode", "selective",
                                  {"none", "selective", "full", "memory_budget"}));
  SP_ASSIGN_OR_RETURN(std::string option,
                      keys.Choice("activation_checkpoint.selective_ac_option", "2", {"op"},
                                  /*integers=*/true));
  if (option != "op" && !(ParseInteger(option).ok() && *ParseInteger(option) >= 1)) {
    return Status::Invalid(fmt::format(
        "{}: activation_checkpoint.selective_ac_option = {} (allowed: op, or a positive "
        "integer N: full checkpointing of every N-th block)",
        origin, option));
  }
  if (mode == "none") {
    p.recompute = spec::Recompute::kNone;
  } else if (mode == "full" || (mode == "selective" && option == "1")) {
    p.recompute = spec::Recompute::kFull;
  } else {
    p.recompute = spec::Recompute::kSelective;
    framework.selective_recompute = spec::SelectiveRecompute::kPerOp;
    if (mode == "memory_budget" || option != "op") {
      parse.notes.push_back(fmt::format(
          "activation checkpointing {} is modelled as torchtitan's per-op selective policy",
          mode == "memory_budget"
              ? std::string("memory_budget")
              : "selective (full checkpointing of one block in " + option + ")"));
    }
  }

  job.plan = p;
  job.framework = framework;
  const nlohmann::json after = spec::PlanSchema().ToJson(job.plan);
  for (const auto& [key, value] : after.items()) {
    if (before.contains(key) && before[key] != value)
      parse.changed.push_back(fmt::format("{}: {} -> {}", key, before[key].dump(), value.dump()));
  }
  if (job.model.name != model_before) {
    parse.changed.push_back(fmt::format("model: {} -> {}", model_before, job.model.name));
  }
  if (job.workload.seq_len != seq_before) {
    parse.changed.push_back(fmt::format("seq_len: {} -> {}", seq_before, job.workload.seq_len));
  }
  if (job.workload.global_batch != batch_before) {
    parse.changed.push_back(
        fmt::format("global_batch: {} -> {}", batch_before, job.workload.global_batch));
  }
  SP_RETURN_IF_ERROR(keys.CheckNearMisses());
  parse.ignored = keys.Unread();
  return parse;
}

}  // namespace scaleplan::report
