// Ranking (recommendation, CTR) models and the jobs that train them at scale: embedding tables,
// dense features, bottom and top MLPs and the feature interaction, as in DLRM (Naumov et al.,
// arXiv:1906.00091) and DCN-v2 (Wang et al., arXiv:2008.13535). Plain structs; every key is
// defined once in the schemas of ranking.cpp (`scaleplan spec` prints them).
//
// A ranking-model file is YAML:
//   name: mlperf-dlrm-dcnv2
//   dense_features: 13
//   bottom_mlp: [512, 256, 128]
//   top_mlp: [1024, 1024, 512, 256, 1]
//   interaction: dcn            # dot | dcn | fm | attention
//   interaction_layers: 3
//   interaction_rank: 512       # DCN-v2 low rank; 0 = full rank
//   embedding_dim: 128          # the dim of a table that does not give its own
//   tables:
//     - {name: t0, rows: 40000000, pooling: 3}
//     - {name: ads, count: 200, rows: 500000, dim: 64, pooling: 5, zipf: 1.2}   # 200 tables
// A table entry with `count: n` stands for n tables named <name>_0 .. <name>_<n-1>.
// Instead of bottom_mlp, interaction and top_mlp, `arch: FILE.json | baseline` gives the dense
// part as a Rankitect architecture (rec/arch.h; what `scaleplan nas` finds and `scaleplan
// rec-train` trains): its `dense` input is the dense features, its `sparse` input one pooled
// vector per table (recsys/dense.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spec/schema.h"
#include "spec/specs.h"

namespace scaleplan::spec {

// Bounds on what a ranking-model file may say (docs/RELIABILITY.md).
inline constexpr int64_t kMaxTables = 100000;  // tables after `count` expansion
inline constexpr int64_t kMaxTableRows = int64_t{1} << 40;
inline constexpr int64_t kMaxEmbeddingDim = 65536;
inline constexpr double kMaxPooling = 1e5;  // lookups per sample of one table
inline constexpr int64_t kMaxMlpWidth = int64_t{1} << 20;
inline constexpr int64_t kMaxMlpLayers = 64;

enum class EmbeddingDtype { kFp32, kFp16, kInt8 };
enum class Interaction { kDot, kDcn, kFm, kAttention };
// The embedding optimizer, fused into the backward lookup kernel (FBGEMM, HugeCTR).
enum class EmbeddingOptimizer { kSgd, kRowWiseAdagrad, kAdagrad, kAdam };

std::string_view EmbeddingDtypeName(EmbeddingDtype dtype);
double EmbeddingDtypeBytes(EmbeddingDtype dtype);
std::string_view InteractionName(Interaction interaction);
std::string_view EmbeddingOptimizerName(EmbeddingOptimizer optimizer);

struct TableSpec {
  std::string name;
  int64_t count = 1;   // tables this entry stands for (expanded by the reader)
  int64_t rows = 0;    // required
  int64_t dim = 0;     // 0 = the model's embedding_dim
  double pooling = 1;  // mean lookups per sample (multi-hot hotness); 1 = one-hot
  // Skew of the ids looked up: id i (1-based, by popularity) is drawn with probability
  // proportional to i^-zipf; 0 = uniform. Sets the unique rows a batch touches and the miss
  // ratio of a software cache (recsys/cost.h).
  double zipf = 1.05;
  bool operator==(const TableSpec&) const = default;
};

struct RankingModelSpec {
  std::string name = "custom";
  std::string description;
  std::string source;
  int64_t dense_features = 0;
  // The dense part as a Rankitect architecture (a JSON file or a baseline's name, rec/arch.h);
  // "" = bottom_mlp, interaction and top_mlp below.
  std::string arch;
  // A file `arch`'s JSON, read once when the model is loaded (a path inside a model file is
  // relative to that file's folder); "" for a baseline (recsys/dense.h builds it).
  std::string arch_text;
  std::vector<int64_t> bottom_mlp;  // layer widths after the dense features; may be empty
  std::vector<int64_t> top_mlp;     // layer widths after the interaction; the last is the logit
  Interaction interaction = Interaction::kDot;
  int64_t interaction_layers = 0;  // dcn: cross layers; attention: self-attention layers
  int64_t interaction_rank = 0;    // dcn: low rank of each cross layer; 0 = full rank
  int64_t attention_heads = 2;     // attention only
  int64_t embedding_dim = 0;       // the dim of tables that give none
  EmbeddingDtype embedding_dtype = EmbeddingDtype::kFp32;
  std::vector<TableSpec> tables;  // after expansion: count = 1 each, dim set
  bool operator==(const RankingModelSpec&) const = default;

  int64_t DimOf(const TableSpec& table) const { return table.dim > 0 ? table.dim : embedding_dim; }
};

// Training a ranking model on a cluster: what the step model and the planner take besides the
// model and the cluster (recsys/).
struct RecJobSpec {
  RankingModelSpec model;
  ClusterSpec cluster;
  int64_t gpus = 0;              // 0 = the whole cluster
  int64_t global_batch = 55296;  // samples per step over all GPUs (MLPerf DLRM-DCNv2)
  EmbeddingOptimizer optimizer = EmbeddingOptimizer::kRowWiseAdagrad;
  // TorchRec's TrainPipelineSparseDist / HugeCTR's overlap: the next batch's index all-to-all
  // runs during this step's dense compute.
  bool pipeline_input_dist = true;
  // TorchRec's PrefetchTrainPipelineSparseDist: a uvm_caching table's missing rows are fetched
  // into the cache for the next batch during this step (after its ids arrive), so the forward
  // reads every row from HBM; false: the forward reads missing rows over the host link.
  bool prefetch_pipeline = false;
  // HugeCTR's and TorchRec's multi-stream overlap: the tables' lookups and all-to-alls run beside
  // the bottom MLP's forward, and their backward beside the weight gradients and the bottom MLP's
  // backward (recsys/cost.h); false runs every phase in turn.
  bool overlap_embeddings = true;
  double index_bytes = 4;                    // per looked-up id on the wire (int32)
  double pooled_bytes = 2;                   // per element of a pooled embedding on the wire
  double dense_grad_bytes = 4;               // per dense gradient in the all-reduce
  double host_bandwidth_bytes_per_s = 25e9;  // GPU <-> host memory, per GPU (UVM)
  double host_memory_bytes = 256e9;          // host memory per GPU for UVM tables
  double hbm_reserve_fraction = 0.05;        // of usable HBM kept free (TorchRec's reservation)
};

const Schema<TableSpec>& TableSchema();
const Schema<RankingModelSpec>& RankingModelSchema();
const Schema<RecJobSpec>& RecJobSchema();

// Checks that need several fields: required fields, every table's dim, the interaction's needs
// (dot and fm need one dim shared by every table and the bottom MLP's output). With `arch`, the
// keys it replaces must be absent; the architecture itself is checked where it is read
// (recsys/dense.h).
Status ValidateRankingModel(const RankingModelSpec& model);

// The model's dense part replaced by the architecture `arch` (ranking_model.arch): the keys it
// replaces are reset, and a file's JSON is read (`from_origin`: the file that names it, "" for
// the command line).
Status ReplaceDensePart(RankingModelSpec& model, const std::string& arch,
                        const std::string& from_origin = "");

// A preset name from presets/ranking or a YAML file; a non-empty `arch` replaces the file's
// dense part before the checks (so a file of tables alone is a model).
Result<RankingModelSpec> LoadRankingModel(std::string_view ref, const std::string& arch = "");
Result<RankingModelSpec> ParseRankingModelYaml(std::string_view text, const std::string& origin,
                                               const std::string& arch = "");

}  // namespace scaleplan::spec
