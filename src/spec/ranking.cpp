#include "spec/ranking.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "core/text.h"
#include "spec/presets.h"
#include "spec/readers.h"
#include "spec/yaml.h"

namespace scaleplan::spec {

namespace {

const std::vector<std::pair<std::string, EmbeddingDtype>>& DtypeChoices() {
  static const std::vector<std::pair<std::string, EmbeddingDtype>> kChoices = {
      {"fp32", EmbeddingDtype::kFp32},
      {"fp16", EmbeddingDtype::kFp16},
      {"int8", EmbeddingDtype::kInt8}};
  return kChoices;
}
const std::vector<std::pair<std::string, Interaction>>& InteractionChoices() {
  static const std::vector<std::pair<std::string, Interaction>> kChoices = {
      {"dot", Interaction::kDot},
      {"dcn", Interaction::kDcn},
      {"fm", Interaction::kFm},
      {"attention", Interaction::kAttention}};
  return kChoices;
}
const std::vector<std::pair<std::string, EmbeddingOptimizer>>& OptimizerChoices() {
  static const std::vector<std::pair<std::string, EmbeddingOptimizer>> kChoices = {
      {"sgd", EmbeddingOptimizer::kSgd},
      {"rowwise_adagrad", EmbeddingOptimizer::kRowWiseAdagrad},
      {"adagrad", EmbeddingOptimizer::kAdagrad},
      {"adam", EmbeddingOptimizer::kAdam}};
  return kChoices;
}

// Rates and sizes (bytes, bytes/s): far above any machine, so products stay finite (the bound
// specs.cpp puts on the transformer specs).
constexpr double kMaxRankingPhysical = 1e30;

// A list of MLP widths, each 1 to kMaxMlpWidth, at most kMaxMlpLayers of them.
FieldInfo WidthsInfo(std::string key, std::string help) {
  FieldInfo info;
  info.key = std::move(key);
  info.kind = ValueKind::kList;
  info.help = std::move(help);
  info.allowed = fmt::format("a list of up to {} integers 1 to {}", kMaxMlpLayers, kMaxMlpWidth);
  return info;
}

std::function<Status(RankingModelSpec&, const RawValue&)> SetWidths(
    FieldInfo info, std::vector<int64_t> RankingModelSpec::*member) {
  return [info, member](RankingModelSpec& model, const RawValue& value) -> Status {
    if (value.quoted) return FieldError("ranking_model", info, value, "is quoted text, not widths");
    std::vector<std::string> items = value.is_list ? value.items : SplitAndTrim(value.text, ',');
    if (value.text.empty() && !value.is_list) items.clear();
    if (static_cast<int64_t>(items.size()) > kMaxMlpLayers) {
      return FieldError("ranking_model", info, value, "has too many layers");
    }
    std::vector<int64_t> widths;
    for (const std::string& item : items) {
      Result<int64_t> width = ParseInteger(item);
      if (!width.ok() || *width < 1 || *width > kMaxMlpWidth) {
        return FieldError("ranking_model", info, value,
                          fmt::format("has a bad width '{}'", Printable(item, 64)));
      }
      widths.push_back(*width);
    }
    model.*member = std::move(widths);
    return Status::Ok();
  };
}

}  // namespace

std::string_view EmbeddingDtypeName(EmbeddingDtype dtype) {
  return ChoiceName(DtypeChoices(), dtype);
}
double EmbeddingDtypeBytes(EmbeddingDtype dtype) {
  switch (dtype) {
    case EmbeddingDtype::kFp32:
      return 4;
    case EmbeddingDtype::kFp16:
      return 2;
    case EmbeddingDtype::kInt8:
      return 1;
  }
  return 4;
}
std::string_view InteractionName(Interaction interaction) {
  return ChoiceName(InteractionChoices(), interaction);
}
std::string_view EmbeddingOptimizerName(EmbeddingOptimizer optimizer) {
  return ChoiceName(OptimizerChoices(), optimizer);
}

const Schema<TableSpec>& TableSchema() {
  static const Schema<TableSpec> kSchema = [] {
    using T = TableSpec;
    Schema<T> s("table");
    s.Text("name", &T::name, "table name (unique in the model; required)")
        .Integer("count", &T::count, 1, kMaxTables, "",
                 "tables this entry stands for, named <name>_0 .. <name>_<count-1>")
        .Integer("rows", &T::rows, 1, kMaxTableRows, "", "embedding rows (ids); required")
        .Integer("dim", &T::dim, 1, kMaxEmbeddingDim, "",
                 "embedding dimension; absent = the model's embedding_dim")
        .Number("pooling", &T::pooling, 1e-6, kMaxPooling, "",
                "mean ids looked up per sample (multi-hot); 1 = one-hot")
        .Number("zipf", &T::zipf, 0, 4, "",
                "skew of the ids looked up: P(id of popularity rank i) ~ i^-zipf; 0 = uniform");
    return s;
  }();
  return kSchema;
}

const Schema<RankingModelSpec>& RankingModelSchema() {
  static const Schema<RankingModelSpec> kSchema = [] {
    using M = RankingModelSpec;
    Schema<M> s("ranking_model");
    s.Text("name", &M::name, "model name")
        .Text("description", &M::description, "one line")
        .Text("source", &M::source, "where the architecture numbers come from")
        .Integer("dense_features", &M::dense_features, 0, kMaxMlpWidth, "",
                 "dense (continuous) input features")
        .Text("arch", &M::arch,
              "the dense part as a Rankitect architecture instead of bottom_mlp, interaction and "
              "top_mlp: an architecture file (JSON, as scaleplan nas writes and rec-train reads) "
              "or a baseline (dlrm-s ... autoint-l, built at the tables' dim); its sparse input "
              "is one pooled vector per table, all tables of one dim");
    FieldInfo bottom = WidthsInfo("bottom_mlp", "bottom MLP widths after the dense features");
    s.Custom(bottom, SetWidths(bottom, &M::bottom_mlp),
             [](const M& m) { return nlohmann::json(m.bottom_mlp); });
    FieldInfo top = WidthsInfo("top_mlp",
                               "top MLP widths after the interaction; the last is the "
                               "output (1 for a click logit); required");
    s.Custom(top, SetWidths(top, &M::top_mlp),
             [](const M& m) { return nlohmann::json(m.top_mlp); });
    s.Choice("interaction", &M::interaction, InteractionChoices(),
             "feature interaction: dot (DLRM pairwise dots), dcn (DCN-v2 cross layers), fm "
             "(factorization machine beside the concatenation), attention (self-attention over "
             "the embeddings, AutoInt)")
        .Integer("interaction_layers", &M::interaction_layers, 0, kMaxMlpLayers, "",
                 "dcn: cross layers; attention: self-attention layers")
        .Integer("interaction_rank", &M::interaction_rank, 0, kMaxMlpWidth, "",
                 "dcn: rank of each cross layer's low-rank weight; 0 = full rank")
        .Integer("attention_heads", &M::attention_heads, 1, 1024, "", "attention: heads")
        .Integer("embedding_dim", &M::embedding_dim, 1, kMaxEmbeddingDim, "",
                 "dimension of the tables that give none")
        .Choice("embedding_dtype", &M::embedding_dtype, DtypeChoices(),
                "embedding weights' type (optimizer state stays FP32)");
    FieldInfo tables;
    tables.key = "tables";
    tables.kind = ValueKind::kTable;
    tables.help = "embedding tables; each a map of table keys";
    tables.allowed = fmt::format("a list of table maps, at most {} tables in all", kMaxTables);
    s.Custom(tables, nullptr, [](const M& m) {
      nlohmann::json out = nlohmann::json::array();
      for (const TableSpec& t : m.tables) out.push_back(TableSchema().ToJson(t));
      return out;
    });
    return s;
  }();
  return kSchema;
}

const Schema<RecJobSpec>& RecJobSchema() {
  static const Schema<RecJobSpec> kSchema = [] {
    using J = RecJobSpec;
    Schema<J> s("rec_job");
    s.Integer("global_batch", &J::global_batch, 1, kMaxCount, "",
              "samples per step over all GPUs (MLPerf DLRM-DCNv2: 55296)")
        .Choice("optimizer", &J::optimizer, OptimizerChoices(),
                "embedding optimizer, fused into the backward (state: rowwise_adagrad 1 FP32 "
                "per row, adagrad 1 per element, adam 2 per element, sgd none)")
        .Boolean("pipeline_input_dist", &J::pipeline_input_dist,
                 "the next batch's id all-to-all overlaps this step's dense compute (TorchRec "
                 "TrainPipelineSparseDist)")
        .Boolean("prefetch_pipeline", &J::prefetch_pipeline,
                 "uvm_caching tables fetch the next batch's missing rows into the cache during "
                 "this step (TorchRec's PrefetchTrainPipelineSparseDist)")
        .Boolean("overlap_embeddings", &J::overlap_embeddings,
                 "the tables' lookups and all-to-alls run beside the bottom MLP forward and "
                 "beside the weight gradients and bottom MLP backward (separate streams)")
        .Number("index_bytes", &J::index_bytes, 1, 8, "bytes", "bytes per id on the wire")
        .Number("pooled_bytes", &J::pooled_bytes, 1, 4, "bytes",
                "bytes per element of a pooled embedding or its gradient on the wire")
        .Number("dense_grad_bytes", &J::dense_grad_bytes, 1, 4, "bytes",
                "bytes per dense gradient in the data-parallel all-reduce")
        .Number("host_bandwidth_bytes_per_s", &J::host_bandwidth_bytes_per_s, 1e6,
                kMaxRankingPhysical, "bytes/s",
                "GPU <-> host memory per GPU, for UVM tables (assumption: PCIe Gen4 x16, 25e9)")
        .Number("host_memory_bytes", &J::host_memory_bytes, 0, kMaxRankingPhysical, "bytes",
                "host memory per GPU for UVM tables (assumption: 2 TB per 8-GPU node)")
        .Number("hbm_reserve_fraction", &J::hbm_reserve_fraction, 0, 0.9, "",
                "of usable HBM kept free for the framework (TorchRec reserves 0.15; the MLPerf "
                "reference 0.05)");
    return s;
  }();
  return kSchema;
}

Status ValidateRankingModel(const RankingModelSpec& m) {
  SP_RETURN_IF_ERROR(RankingModelSchema().CheckBounds(m));
  if (m.tables.empty()) {
    return Status::Invalid(
        "ranking_model.tables is missing or empty (allowed: at least one table)");
  }
  if (static_cast<int64_t>(m.tables.size()) > kMaxTables) {
    return Status::Invalid(fmt::format("ranking_model.tables has {} tables (allowed: at most {})",
                                       m.tables.size(), kMaxTables));
  }
  if (!m.arch.empty()) {
    // The architecture is the whole dense part: a key it replaces would be ignored.
    const RankingModelSpec defaults;
    const char* given = !m.top_mlp.empty()                              ? "top_mlp"
                        : !m.bottom_mlp.empty()                         ? "bottom_mlp"
                        : m.interaction != defaults.interaction         ? "interaction"
                        : m.interaction_layers > 0                      ? "interaction_layers"
                        : m.interaction_rank > 0                        ? "interaction_rank"
                        : m.attention_heads != defaults.attention_heads ? "attention_heads"
                                                                        : nullptr;
    if (given != nullptr) {
      return Status::Invalid(fmt::format(
          "ranking_model.{} is given with ranking_model.arch = {} (allowed: one of them; the "
          "architecture is the whole dense part)",
          given, Printable(m.arch, 64)));
    }
  } else if (m.top_mlp.empty()) {
    return Status::Invalid(
        "ranking_model.top_mlp is missing (allowed: a list of widths ending in "
        "the output, e.g. [512, 256, 1], or an arch)");
  }
  std::set<std::string> names;
  for (const TableSpec& t : m.tables) {
    SP_RETURN_IF_ERROR(TableSchema().CheckBounds(t));
    if (t.name.empty()) return Status::Invalid("table.name is missing (allowed: a unique name)");
    if (!names.insert(t.name).second) {
      return Status::Invalid(fmt::format("table.name = {} is given twice (allowed: unique names)",
                                         Printable(t.name, 64)));
    }
    if (t.rows <= 0) {
      return Status::Invalid(fmt::format("table {}: table.rows = {} (allowed: integer 1 to 2^40)",
                                         Printable(t.name, 64), t.rows));
    }
    if (m.DimOf(t) <= 0) {
      return Status::Invalid(fmt::format(
          "table {}: table.dim is missing and ranking_model.embedding_dim is not set (allowed: "
          "integer 1 to {})",
          Printable(t.name, 64), kMaxEmbeddingDim));
    }
  }
  if (!m.arch.empty()) return Status::Ok();
  if (m.dense_features == 0 && !m.bottom_mlp.empty()) {
    return Status::Invalid(
        "ranking_model.bottom_mlp is given but dense_features = 0 (allowed: a "
        "bottom MLP only over dense features)");
  }
  int64_t bottom_out = m.bottom_mlp.empty() ? m.dense_features : m.bottom_mlp.back();
  bool same_dim = m.interaction == Interaction::kDot || m.interaction == Interaction::kFm ||
                  m.interaction == Interaction::kAttention;
  if (same_dim) {
    int64_t dim = m.DimOf(m.tables.front());
    for (const TableSpec& t : m.tables) {
      if (m.DimOf(t) != dim) {
        return Status::Invalid(fmt::format(
            "table {}: dim {} differs from table {}'s {} (allowed: one dim for every table with "
            "interaction {})",
            Printable(t.name, 64), m.DimOf(t), Printable(m.tables.front().name, 64), dim,
            InteractionName(m.interaction)));
      }
    }
    if (bottom_out > 0 && bottom_out != dim) {
      return Status::Invalid(fmt::format(
          "ranking_model.bottom_mlp ends in {} but the tables' dim is {} (allowed: a bottom MLP "
          "whose last width is {} with interaction {})",
          bottom_out, dim, dim, InteractionName(m.interaction)));
    }
  }
  // Keys the interaction does not read change nothing: refused, not carried.
  if (m.interaction_layers > 0 && m.interaction != Interaction::kDcn &&
      m.interaction != Interaction::kAttention) {
    return Status::Invalid(fmt::format(
        "ranking_model.interaction_layers = {} has no effect with interaction {} (allowed: 0, or "
        "interaction dcn or attention)",
        m.interaction_layers, InteractionName(m.interaction)));
  }
  if (m.interaction_rank > 0 && m.interaction != Interaction::kDcn) {
    return Status::Invalid(fmt::format(
        "ranking_model.interaction_rank = {} has no effect with interaction {} (allowed: 0, or "
        "interaction dcn)",
        m.interaction_rank, InteractionName(m.interaction)));
  }
  if (m.interaction == Interaction::kDcn && m.interaction_rank > 0) {
    // A cross layer's weight is width x width; a rank above the width only adds parameters.
    int64_t width = bottom_out;
    for (const TableSpec& t : m.tables) width += m.DimOf(t);
    if (m.interaction_rank > width) {
      return Status::Invalid(fmt::format(
          "ranking_model.interaction_rank = {} exceeds the cross layers' input width {} (the "
          "bottom MLP's output and every table's dim) (allowed: 0 for full rank, or 1 to {})",
          m.interaction_rank, width, width));
    }
  }
  if (m.interaction == Interaction::kDcn && m.interaction_layers < 1) {
    return Status::Invalid(
        "ranking_model.interaction_layers = 0 with interaction dcn (allowed: "
        "integer >= 1)");
  }
  if (m.interaction == Interaction::kAttention) {
    if (m.interaction_layers < 1) {
      return Status::Invalid(
          "ranking_model.interaction_layers = 0 with interaction attention "
          "(allowed: integer >= 1)");
    }
    if (m.DimOf(m.tables.front()) % m.attention_heads != 0) {
      return Status::Invalid(fmt::format(
          "ranking_model.attention_heads = {} does not divide the embedding dim {} (allowed: a "
          "divisor)",
          m.attention_heads, m.DimOf(m.tables.front())));
    }
  }
  return Status::Ok();
}

Status ReplaceDensePart(RankingModelSpec& model, const std::string& arch,
                        const std::string& from_origin) {
  const RankingModelSpec defaults;
  model.arch = arch;
  model.arch_text.clear();
  model.bottom_mlp.clear();
  model.top_mlp.clear();
  model.interaction = defaults.interaction;
  model.interaction_layers = 0;
  model.interaction_rank = 0;
  model.attention_heads = defaults.attention_heads;
  if (!LooksLikePath(arch)) return Status::Ok();  // a baseline, built for the tables
  Result<std::string> text = ReadFile(ResolveRef(arch, from_origin));
  if (!text.ok()) {
    return Status::Invalid(fmt::format("ranking_model.arch = {}: {}", Printable(arch, 200),
                                       text.status().message()))
        .WithKey("ranking_model.arch");
  }
  model.arch_text = *std::move(text);
  return Status::Ok();
}

Result<RankingModelSpec> ParseRankingModelYaml(std::string_view text, const std::string& origin,
                                               const std::string& arch) {
  SP_ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(text, origin));
  RankingModelSpec model;
  SP_RETURN_IF_ERROR(ApplyMap(RankingModelSchema(), model, root, origin, {"tables"}));
  const YAML::Node tables = root["tables"];
  if (tables) {
    if (!tables.IsSequence()) {
      return Status::Parse(fmt::format("{}: ranking_model.tables expected a list of table maps",
                                       Where(origin, tables)));
    }
    for (const YAML::Node& item : tables) {
      if (!item.IsMap()) {
        return Status::Parse(fmt::format("{}: ranking_model.tables expected a list of table maps",
                                         Where(origin, item)));
      }
      TableSpec table;
      SP_RETURN_IF_ERROR(ApplyMap(TableSchema(), table, item, origin, {}));
      if (table.name.empty()) {
        return Status::Invalid(
            fmt::format("{}: table.name is missing (allowed: a unique name)", Where(origin, item)));
      }
      if (table.count > kMaxTables - static_cast<int64_t>(model.tables.size())) {
        return Status::Invalid(fmt::format(
            "{}: table.count = {} makes more than {} tables (allowed: at most {} in all)",
            Where(origin, item), table.count, kMaxTables, kMaxTables));
      }
      int64_t count = table.count;
      table.count = 1;
      if (table.dim == 0) table.dim = model.embedding_dim;
      if (count == 1) {
        model.tables.push_back(table);
        continue;
      }
      for (int64_t i = 0; i < count; ++i) {
        TableSpec copy = table;
        copy.name = fmt::format("{}_{}", table.name, i);
        model.tables.push_back(std::move(copy));
      }
    }
  }
  if (!model.arch.empty() || !arch.empty()) {
    // The keys the architecture replaces may not be given beside it (ValidateRankingModel says
    // which); the command line's `arch` replaces whatever the file gave.
    if (arch.empty()) SP_RETURN_IF_ERROR(ValidateRankingModel(model).WithContext(origin));
    SP_RETURN_IF_ERROR(ReplaceDensePart(model, arch.empty() ? model.arch : arch,
                                        arch.empty() ? origin : std::string())
                           .WithContext(origin));
  }
  Status valid = ValidateRankingModel(model);
  if (!valid.ok()) return valid.WithContext(origin);
  return model;
}

Result<RankingModelSpec> LoadRankingModel(std::string_view ref, const std::string& arch) {
  if (LooksLikePath(ref)) {
    std::string path(ref);
    SP_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    return ParseRankingModelYaml(text, path, arch);
  }
  SP_ASSIGN_OR_RETURN(std::string text, PresetText("ranking", ref));
  return ParseRankingModelYaml(text, fmt::format("preset ranking/{}.yaml", ref), arch);
}

}  // namespace scaleplan::spec
