#include "validate/training_rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include "core/checked.h"
#include "core/text.h"
#include "model/model.h"
#include "spec/presets.h"
#include "spec/readers.h"

namespace scaleplan::validate {

bool Contains(const std::string& text, std::string_view what) {
  return ToLower(text).find(ToLower(what)) != std::string::npos;
}

namespace {

// The leading number of a cell ("2560*", "44% of peak", "1,024", "-3", "5.762e3"), or 0 where
// the cell holds none (or one out of a double's range). A sign counts where it stands right
// before the digits; commas between digits are thousands separators. `suffixed` (when given) is
// set when a letter follows the number at once ("5.762k", "8Ki", "8abc"): a unit or a multiplier
// the number alone would misread, which the cell checks refuse; and when the number is not one
// the cell states whole: a letter right before it ("v2 5762", "run2: 5762": a name's digit), or a
// point, slash or colon and a digit right after it ("5.762.1", "1/2", "2:30").
double Number(const std::string& cell, bool* suffixed = nullptr) {
  if (suffixed != nullptr) *suffixed = false;
  auto digit = [&](size_t at) {
    return at < cell.size() && std::isdigit(static_cast<unsigned char>(cell[at]));
  };
  size_t start = 0;
  while (start < cell.size() && !digit(start) &&
         !(cell[start] == '.' && digit(start + 1))) {
    ++start;
  }
  if (start == cell.size()) return 0;
  std::string text;
  // A sign right before the digits, itself at the start or after a space, '(', '~' or '='
  // ("ZeRO-3" and "Nemotron-8B" are names, not -3 and -8).
  if (start > 0 && (cell[start - 1] == '-' || cell[start - 1] == '+') &&
      (start == 1 || cell[start - 2] == ' ' || cell[start - 2] == '(' || cell[start - 2] == '~' ||
       cell[start - 2] == '=')) {
    text += cell[start - 1];
  }
  size_t at = start;
  for (; at < cell.size(); ++at) {
    if (digit(at) || (cell[at] == '.' && text.find('.') == std::string::npos)) {
      text += cell[at];
    } else if (cell[at] != ',' || !digit(at + 1) || text.empty()) {
      break;  // a comma counts only between digits
    }
  }
  // An exponent: e or E, an optional sign, digits.
  if (at < cell.size() && (cell[at] == 'e' || cell[at] == 'E')) {
    size_t e = at + 1;
    if (e < cell.size() && (cell[e] == '-' || cell[e] == '+')) ++e;
    if (digit(e)) {
      text += cell.substr(at, e - at);
      for (; digit(e); ++e) text += cell[e];
      at = e;
    }
  }
  if (suffixed != nullptr) {
    const bool letter_after =
        at < cell.size() && std::isalpha(static_cast<unsigned char>(cell[at]));
    const bool letter_before =
        start > 0 && std::isalpha(static_cast<unsigned char>(cell[start - 1]));
    const bool joined_after = at < cell.size() &&
                              (cell[at] == '.' || cell[at] == '/' || cell[at] == ':') &&
                              digit(at + 1);
    *suffixed = letter_after || letter_before || joined_after;
  }
  Result<double> value = ParseNumber(text);
  return value.ok() ? *value : 0;
}

// Why a cell's number cannot be read as it stands, or "": a letter stuck to it (a unit or a
// multiplier: "8k", "5.762k", "8abc"), or, for a count, a fraction ("2.5" GPUs).
std::string NumberProblem(const char* column, const std::string& cell, bool whole) {
  bool suffixed = false;
  const double value = Number(cell, &suffixed);
  if (suffixed) {
    return fmt::format(
        "{} = '{}' has text stuck to its number (allowed: a plain number such as "
        "8192, without a unit, a k/M multiplier or a name or number joined to it)",
        column, Printable(cell, 40));
  }
  if (whole && value != std::floor(value)) {
    return fmt::format("{} = {} is not a whole number (allowed: a count)", column,
                       Printable(cell, 40));
  }
  return "";
}

// NeMo's and Megatron-Bridge's LoRA recipes (their tables name the task, not the adapters):
// rank 32 on QKV, the attention output, fc1 and fc2, every base weight frozen (NeMo 2.0's LoRA
// defaults, recalled, not in the workspace's fact sheet).
constexpr int64_t kRecipeLoraRank = 32;
void SetRecipeLora(TrainingCase& c) {
  c.job.workload.lora_rank = kRecipeLoraRank;
  c.assumptions.push_back(fmt::format(
      "LoRA rank {} on QKV, attention output, fc1 and fc2, base weights frozen (NeMo's defaults, "
      "recalled)",
      kRecipeLoraRank));
}

// NVIDIA's fine-tuning recipes (SFT and LoRA) train on SQuAD v1.1 examples packed to the
// sequence, attention masked to each example (NeMo's table says "SQuAD v1.1 packed to 4096"; the
// DGX Cloud and Megatron-Bridge recipes are taken to use the same data). An example, a context
// paragraph with its question and answer, runs to some 150-300 tokens (recalled, not in the
// workspace's fact sheet): 256. The value hardly matters: below 512 keys the attention kernel's
// time no longer shrinks with the document (hardware/efficiency.h), so any length from 128 to 512
// gives the same prediction (docs/ACCURACY.md). A row's document_tokens cell overrides it.
constexpr int64_t kRecipeDocumentTokens = 256;
void SetRecipeDocuments(TrainingCase& c) {
  c.job.workload.document_tokens =
      std::min<int64_t>(kRecipeDocumentTokens, c.job.workload.seq_len);
  c.assumptions.push_back(fmt::format(
      "packed documents of {} tokens, attention within each (SQuAD v1.1 examples packed to the "
      "sequence, NVIDIA's fine-tuning data; the length recalled, and any from 128 to 512 predicts "
      "alike)",
      c.job.workload.document_tokens));
}

// A cell as an integer. Values above 2^31 (no real run has one; CheckSizeCells skips such rows
// for the size columns) read as 2^31 + 1, which the plan's checks then refuse, instead of
// overflowing the conversion.
int64_t Integer(const std::string& cell) {
  constexpr double kAboveAny = 2147483649.0;  // 2^31 + 1
  return static_cast<int64_t>(std::min(Number(cell), kAboveAny));
}

// A cell that says "not given": empty, "-", an en or em dash, "n/a" or "na" (any case).
bool BlankCell(const std::string& cell) {
  const std::string lower = ToLower(Trim(cell));
  return lower.empty() || lower == "-" || lower == "\u2013" || lower == "\u2014" ||
         lower == "n/a" || lower == "na";
}

// Size and parallelism columns: a cell is blank ("", "-", "n/a"), or holds a whole number from 0
// (1 for the `positive` ones) to 2^31 (annotations around it, such as "2560*", are fine).
// Anything else makes the row unusable: the reason, or "" when every such cell is fine.
std::string CheckCountCells(const CsvTable& t, size_t row,
                            std::initializer_list<const char*> columns,
                            const std::set<std::string>& positive_columns) {
  constexpr double kMax = 2147483648.0;  // 2^31
  for (const char* column : columns) {
    std::string cell = t.Cell(row, column);
    if (BlankCell(cell)) continue;
    bool digit = std::any_of(cell.begin(), cell.end(),
                             [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (!digit) return fmt::format("{} = '{}' is not a number", column, cell);
    const bool positive = positive_columns.count(column) > 0;
    if (std::string problem = NumberProblem(column, cell, /*whole=*/true); !problem.empty()) {
      return problem;
    }
    const double value = Number(cell);
    if (value > kMax || value < 0 || (positive && value == 0)) {
      return fmt::format("{} = {} is out of range (allowed: {} to 2^31{})", column,
                         Printable(cell, 40), positive ? 1 : 0, positive ? ", or blank" : "");
    }
  }
  return "";
}

// The common schema's size columns. Sizes nothing can have 0 of (blank says "not given");
// kv_heads 0 is MHA, ffn_hidden 0 is 4h, as in a job's keys, and document_tokens 0 is one
// document a sequence.
std::string CheckSizeCells(const CsvTable& t, size_t row) {
  return CheckCountCells(t, row,
                         {"num_gpus", "tp", "cp", "pp", "vp", "dp", "ep", "seq_len", "micro_batch",
                          "global_batch", "tokens_per_batch", "layers", "hidden", "ffn_hidden",
                          "heads", "kv_heads", "vocab", "document_tokens"},
                         {"num_gpus", "tp", "cp", "pp", "vp", "micro_batch", "seq_len", "layers",
                          "hidden", "heads", "vocab"});
}

// dgxc.csv's GPU count and the source's overrides of the matched configuration: each a whole
// number from 1 (a blank override is none).
std::string CheckRecipeCountCells(const CsvTable& t, size_t row) {
  return CheckCountCells(t, row,
                         {"num_gpus", "layers_override", "gbs_override", "tp_override",
                          "pp_override", "vp_override", "cp_override"},
                         {"num_gpus", "layers_override", "gbs_override", "tp_override",
                          "pp_override", "vp_override", "cp_override"});
}

// The measured columns: a cell is blank, or holds a number from kMinMeasured to kMaxMeasured (a
// negative or absurd measurement is a typo, not a run). The reason, or "" when all are fine.
std::string CheckMeasuredCells(const CsvTable& t, size_t row,
                               std::initializer_list<const char*> columns) {
  for (const char* column : columns) {
    std::string cell = t.Cell(row, column);
    const bool digit = std::any_of(cell.begin(), cell.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    // A blank cell is "not given"; NaN and infinity are values, and other words are not numbers.
    if (BlankCell(cell)) continue;
    const std::string word = ToLower(cell);
    if (word.find("nan") != std::string::npos || word.find("inf") != std::string::npos) {
      return fmt::format("{} = '{}' is not a finite number (allowed: {:g} to {:g}, or blank)",
                         column, Printable(cell, 40), kMinMeasured, kMaxMeasured);
    }
    if (!digit) {
      return fmt::format("{} = '{}' is not a number (allowed: {:g} to {:g}, or blank)", column,
                         Printable(cell, 40), kMinMeasured, kMaxMeasured);
    }
    if (std::string problem = NumberProblem(column, cell, /*whole=*/false); !problem.empty()) {
      return problem;
    }
    const double value = Number(cell);
    if (!(value >= kMinMeasured && value <= kMaxMeasured)) {
      return fmt::format("{} = {} is out of range (allowed: {:g} to {:g})", column,
                         Printable(cell, 40), kMinMeasured, kMaxMeasured);
    }
  }
  return "";
}

// The cluster a GPU type ran on: the presets are the closest published systems. A PCIe card
// (or an NVL card such as the H100 NVL, PCIe cards bridged in pairs) has another peak, power and
// link than the SXM part it is named after, so it has none: modeled as the SXM part it would pass
// for a row it is not.
std::string ClusterFor(const std::string& gpu_type, std::string* gpu_override) {
  // "NVL" as a word is a PCIe NVL card (H100 NVL, H200 NVL); NVL72 is a rack, NVLink a link.
  const std::string lower = ToLower(gpu_type);
  for (size_t at = lower.find("nvl"); at != std::string::npos; at = lower.find("nvl", at + 1)) {
    if (at + 3 >= lower.size() || !std::isalnum(static_cast<unsigned char>(lower[at + 3]))) {
      return "";
    }
  }
  if (Contains(gpu_type, "PCIe")) return "";
  if (Contains(gpu_type, "H800")) return "dgx-h800-ib";
  if (Contains(gpu_type, "A100")) {
    if (Contains(gpu_type, "40GB") || Contains(gpu_type, "40 GB")) *gpu_override = "a100-40gb";
    return "selene";
  }
  if (Contains(gpu_type, "H100")) return "dgx-h100-ib";
  if (Contains(gpu_type, "H200")) {
    *gpu_override = "h200";
    return "dgx-h100-ib";
  }
  if (Contains(gpu_type, "GB200")) return "gb200-nvl72";
  if (Contains(gpu_type, "GB300")) return "gb300-nvl72";
  if (Contains(gpu_type, "B300")) return "dgx-b300-ib";
  if (Contains(gpu_type, "B200")) return "dgx-b200-ib";
  return "";
}

// A model preset for a name as the sources write it, or "".
std::string PresetFor(const std::string& name) {
  std::string n = ToLower(name);
  std::string compact;
  for (char c : n) {
    if (std::isalnum(static_cast<unsigned char>(c))) compact += c;
  }
  static const std::vector<std::pair<std::string, std::string>> kNames = {
      {"llama31405b", "llama3-405b"},
      {"llama3405b", "llama3-405b"},
      {"llama3170b", "llama3-70b"},
      {"llama370b", "llama3-70b"},
      {"llama318b", "llama3-8b"},
      {"llama38b", "llama3-8b"},
      {"llama270b", "llama2-70b"},
      {"llama213b", "llama2-13b"},
      {"llama27b", "llama2-7b"},
      {"nemotron4340b", "nemotron4-340b"},
      {"nemotron340b", "nemotron4-340b"},
      {"nemotron415b", "nemotron4-15b"},
      {"gpt3175b", "gpt3-175b"},
      {"nemomegatron", "gpt3-175b"},
      // Llama 3.3 70B is Llama 3.1 70B's architecture; LLaMA (2023) 7B and 13B are Llama 2's.
      {"llama3370b", "llama3-70b"},
      {"llama65b", "llama1-65b"},
      {"llama33b", "llama1-33b"},
      {"llama30b", "llama1-33b"},
      {"llama13b", "llama2-13b"},
      {"llama7b", "llama2-7b"},
      // Megatron-Turing NLG 530B: SC21's 529.6B GPT (105 layers, hidden 20480, 128 heads).
      {"mtnlg", "sc21-gpt-529.6b"},
      {"megatronturing", "sc21-gpt-529.6b"},
      // Smaller siblings a name's prefix would mistake for a preset: no preset.
      {"deepseekv2lite", ""},
      {"deepseekv3lite", ""}};
  for (const auto& [key, preset] : kNames) {
    if (compact.find(key) != std::string::npos) return preset;  // "" for a known non-preset
  }
  // Else the embedded model preset whose name, letters and digits only, the row's name contains
  // ("Qwen3_30B_a3B (tokendrop)" -> qwen3-30b-a3b); the longest such name wins.
  std::string best;
  size_t best_length = 0;
  for (const std::string& preset : spec::PresetNames("models")) {
    std::string key;
    for (char c : ToLower(preset)) {
      if (std::isalnum(static_cast<unsigned char>(c))) key += c;
    }
    if (key.size() > best_length && compact.find(key) != std::string::npos) {
      best = preset;
      best_length = key.size();
    }
  }
  return best;
}

// "TP=8, PP=9, CP=2" or "Size=405b; TP=8; ..." -> {TP: 8, PP: 9, ...} (keys upper-cased); a key
// given twice is named in `*repeated` (the last value is kept).
std::map<std::string, std::string> ConfigPairs(const std::string& text,
                                               std::string* repeated = nullptr) {
  std::map<std::string, std::string> out;
  for (const std::string& part :
       SplitAndTrim(text, text.find(';') != std::string::npos ? ';' : ',')) {
    size_t eq = part.find('=');
    if (eq == std::string::npos) continue;
    std::string key = part.substr(0, eq);
    std::string upper;
    for (char c : key) {
      if (!std::isspace(static_cast<unsigned char>(c)))
        upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    std::string value = part.substr(eq + 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front())))
      value.erase(0, 1);
    if (repeated != nullptr && out.count(upper) && repeated->empty()) *repeated = upper;
    out[upper] = value;
  }
  return out;
}

// How closely a recipe row's throughput must match its step time (rounding of the cells), and the
// range of its ratio to the MFU's rate that counts as agreement (ReconcileRecipeRow).
constexpr double kRecipeStepAgreement = 0.03;
constexpr std::pair<double, double> kRecipeMfuAgreement = {0.7, 1.4};

// A recipe's integer keys read as whole numbers from 1 to 2^31 (NA or None where a recipe has
// none: EP, ETP, VP); anything else, or a key given twice, leaves the row's plan unknown: the
// reason, or "" when every key is fine.
std::string CheckConfigPairs(const std::map<std::string, std::string>& pairs,
                             const std::string& repeated, const char* column) {
  if (!repeated.empty())
    return fmt::format("{} gives {} twice (allowed: each key once)", column, repeated);
  static const std::set<std::string> kIntegers = {"TP",     "PP",     "CP",  "EP",  "ETP",
                                                  "DP",     "VP",     "MBS", "GBS", "GA",
                                                  "LAYERS", "SEQLEN", "SEQ", "GPUS"};
  static const std::set<std::string> kMayBeNone = {"EP", "ETP", "VP"};
  for (const auto& [key, value] : pairs) {
    if (!kIntegers.count(key)) continue;
    const std::string lower = ToLower(value);
    if (kMayBeNone.count(key) && (lower == "na" || lower == "n/a" || lower == "none")) continue;
    const bool digits = !value.empty() && value.size() <= 10 &&
                        std::all_of(value.begin(), value.end(), [](char ch) {
                          return std::isdigit(static_cast<unsigned char>(ch));
                        });
    if (digits && Integer(value) >= 1 && Integer(value) <= (int64_t{1} << 31)) continue;
    return fmt::format("{} {} = '{}' (allowed: a whole number from 1 to 2^31{})", column, key,
                       Printable(value, 40), kMayBeNone.count(key) ? ", NA or None" : "");
  }
  return "";
}

int64_t Get(const std::map<std::string, std::string>& pairs, const std::string& key,
            int64_t fallback) {
  auto it = pairs.find(key);
  if (it == pairs.end()) return fallback;
  int64_t v = Integer(it->second);
  return v > 0 ? v : fallback;
}

// The tokens/s/GPU a recipe row's mfu cell states: its README's formula (Megatron-Core's
// 6N + 12 L q s a token) at the dense peak of the row's precision; nullopt without an mfu.
std::optional<double> MfuRate(const CsvTable& t, size_t row, const TrainingCase& c) {
  const double mfu = Number(t.Cell(row, "mfu"));
  const double peak = spec::DensePeak(c.job.cluster.gpu, c.job.plan.precision);
  const double per_token =
      model::ModelFlopsPerToken(c.job.model, c.job.workload.seq_len, c.job.workload.lora_rank > 0)
          .per_token_noncausal;
  if (!(mfu > 0) || !(peak > 0) || !(per_token > 0)) return std::nullopt;
  return mfu / 100 * peak / per_token;
}

// Whether a throughput and the one an MFU implies agree, given the spread of the READMEs' FLOP
// formulas (kRecipeMfuAgreement).
bool MfuAgrees(double rate, double by_mfu) {
  return rate / by_mfu >= kRecipeMfuAgreement.first && rate / by_mfu <= kRecipeMfuAgreement.second;
}

// `implied` sequences a step as whole micro-batches on every replica (`unit` sequences each
// round), to 0.5%; nullopt when no such batch is that near.
std::optional<int64_t> WholeBatch(double implied, int64_t unit_sequences) {
  const double unit = static_cast<double>(unit_sequences);
  const double whole = std::round(implied / unit) * unit;
  if (!(unit >= 1) || whole < unit || whole > static_cast<double>(spec::kMaxCount) ||
      std::fabs(implied - whole) > 0.005 * implied) {
    return std::nullopt;
  }
  return static_cast<int64_t>(whole);
}

// A recipe row states one measurement three ways: its throughput (tokens_per_s_total, and the
// per-GPU value derived from it, which must agree; an mfu above 100% is a typo), its step time
// (global batch x sequence / step_time_s / GPUs) and its MFU (by the README's own FLOP formula,
// against the dense peak of the row's precision; this model's per-token FLOPs, 6N (4N under LoRA)
// and attention without the causal half, put the three within 0.85-1.24 of one another on every row
// of dgxc.csv that agrees otherwise). Where the step time disagrees with the throughput (by more
// than 3%: the arithmetic is exact but for rounding):
//   - the MFU confirms the throughput: the global batch is what is wrong (the configuration was
//     matched to the row by GPU count, and a strong-scaling run keeps one batch at every count:
//     Nemotron-4 340B's on GB200 ran 512 sequences where the matched configuration says 32 to
//     128), so the batch becomes throughput x GPUs x step time / sequence when that is a whole
//     number (within 1%), and the assumptions say so;
//   - the MFU confirms the step time: the throughput cell is what is wrong (Grok-1 on 512 GB200,
//     half the step time's rate at the 128- and 256-GPU rows' MFU), and the row is skipped with
//     the reason: which of the rates ran is not for the model to choose;
//   - no MFU, or one that confirms neither: skipped likewise.
// The reason, or "" when the row is consistent (or the batch was corrected; `gbs` follows).
std::string ReconcileRecipeRow(const CsvTable& t, size_t row, int64_t gpus, int64_t dp,
                               bool seq_stated, int64_t& gbs, TrainingCase& c) {
  // The derived column is the total over the GPUs: the two must agree (to the cells' rounding).
  if (const double total = Number(t.Cell(row, "tokens_per_s_total")); total > 0) {
    const double per_gpu = total / static_cast<double>(gpus);
    if (std::fabs(c.measured / per_gpu - 1) > kRecipeStepAgreement) {
      return fmt::format(
          "the row contradicts itself: tokens_per_s_per_gpu_derived {} against tokens_per_s_total "
          "{} / {} GPUs = {:.1f} (allowed: the total over the GPUs)",
          Printable(t.Cell(row, "tokens_per_s_per_gpu_derived"), 20),
          Printable(t.Cell(row, "tokens_per_s_total"), 20), gpus, per_gpu);
    }
  }
  if (const double mfu = Number(t.Cell(row, "mfu")); mfu > 100) {
    return fmt::format("mfu = {} is above the peak (allowed: 0% to 100%, or blank)",
                       Printable(t.Cell(row, "mfu"), 20));
  }
  const double step_s = Number(t.Cell(row, "step_time_s"));
  if (step_s <= 0 || !seq_stated) return "";  // a sequence assumed cannot check the step
  const double seq = static_cast<double>(c.job.workload.seq_len);
  const double n = static_cast<double>(gpus);
  const double by_step = static_cast<double>(gbs) * seq / step_s / n;
  if (std::fabs(c.measured / by_step - 1) <= kRecipeStepAgreement) return "";
  const std::optional<double> by_mfu = MfuRate(t, row, c);
  const std::string rates = fmt::format(
      "tokens_per_s_per_gpu_derived {:.1f} against {:.1f} from the step time (global batch {} x "
      "sequence {} / step_time_s {} / {} GPUs){}",
      c.measured, by_step, gbs, c.job.workload.seq_len, Printable(t.Cell(row, "step_time_s"), 20),
      gpus,
      by_mfu ? fmt::format(" and {:.1f} from mfu {}", *by_mfu, Printable(t.Cell(row, "mfu"), 20))
             : std::string(" and no mfu"));
  // The MFU must side with the throughput (nearer it than the step time's rate, in ratio), and the
  // batch the two imply must be whole micro-batches on every replica (to 0.5%): a batch is then
  // what was wrong, and it is replaced.
  if (by_mfu && MfuAgrees(c.measured, *by_mfu) &&
      std::fabs(std::log(c.measured / *by_mfu)) < std::fabs(std::log(by_step / *by_mfu))) {
    if (const std::optional<int64_t> whole =
            WholeBatch(c.measured * n * step_s / seq, dp * c.job.plan.micro_batch)) {
      c.assumptions.push_back(fmt::format(
          "global batch {} from the row's throughput and step time (the mfu agrees), not the "
          "matched configuration's {}",
          *whole, gbs));
      gbs = *whole;
      c.job.workload.global_batch = gbs;
      return "";
    }
  }
  return "the row contradicts itself: " + rates +
         " (allowed: a throughput that the step time, or the mfu and a whole global batch, "
         "confirms)";
}

// Fills the pipeline fields: schedule from vp, Llama 3-style trimming when the layers only split
// with it (NeMo's account_for_embedding/loss_in_pipeline_split), the Llama 3 schedule when the
// micro-batch count is not a multiple of pp.
std::string SetPipeline(TrainingCase& c, int64_t pp, int64_t vp) {
  spec::PlanSpec& plan = c.job.plan;
  if (pp == 1 && vp > 1) {
    // Megatron ignores the virtual stages of a run without a pipeline.
    c.assumptions.push_back(fmt::format("vp {} with pp 1 read as vp 1 (no pipeline to split)", vp));
    vp = 1;
  }
  plan.pp = pp;
  plan.vp = vp;
  int64_t layers = c.job.model.layers;
  if (pp > 1 && layers % (pp * vp) != 0) {
    if ((layers + 2) % (pp * vp) == 0) {
      plan.trim_edge_stages = true;
      c.assumptions.push_back(
          "first/last stage carry one layer fewer (layers do not split evenly otherwise)");
    } else if (layers >= pp * vp) {
      plan.uneven_layers = true;
      c.assumptions.push_back(fmt::format(
          "{} layers split unevenly over pp {} x vp {}, {} or {} a chunk (the run's pipeline "
          "layout is not given)",
          layers, pp, vp, layers / (pp * vp), layers / (pp * vp) + 1));
    } else {
      return fmt::format("{} layers do not split over pp {} x vp {}", layers, pp, vp);
    }
  }
  if (!c.schedule_given) {
    plan.schedule = vp > 1 ? spec::Schedule::kInterleaved : spec::Schedule::k1F1B;
  }
  return "";
}

void FixMicrobatchGroup(TrainingCase& c, int64_t gpus) {
  spec::PlanSpec& plan = c.job.plan;
  if (plan.schedule != spec::Schedule::kInterleaved || c.schedule_given) return;
  std::optional<int64_t> model_parallel = BoundedProduct({plan.tp, plan.cp, plan.pp}, gpus);
  if (!model_parallel || *model_parallel < 1) return;  // BuildPlan reports it
  int64_t dp = gpus / *model_parallel;
  int64_t gb = c.job.workload.global_batch;
  std::optional<int64_t> per_step = BoundedProduct({dp, plan.micro_batch}, gb);
  if (dp <= 0 || gb <= 0 || !per_step || gb % *per_step != 0) return;
  int64_t m = gb / *per_step;
  if (m % plan.pp == 0) return;
  plan.schedule = spec::Schedule::kLlama3;
  plan.pp_microbatch_group = std::gcd(m, plan.pp);
  c.assumptions.push_back(
      fmt::format("{} micro-batches are not a multiple of pp {}: interleaved in groups of {}", m,
                  plan.pp, plan.pp_microbatch_group));
}

// A recipe row on a pipeline that leaves vp out: the interleaved plans a tuned run could have used
// (vp 2 to kMaxTunedVp whose layers split), each with its schedule and micro-batch group.
// ChooseTunedPlan (training_rows.h) picks the fastest that fits, or keeps vp 1. Only NVIDIA's
// recipes (dgxc.csv) get it: they are tuned configurations whose "VP NA" hides the choice; a
// paper's or a user's row without vp ran what it says (vp 1), which SC21's rows confirm (with the
// choice their error grew from 7.7% to 9.9%, measured before the A100 changes of 2026-12-01).
void AddVpAlternatives(TrainingCase& c, int64_t pp, int64_t gpus) {
  if (pp <= 1 || c.schedule_given) return;
  for (int64_t v = 2; v <= kMaxTunedVp; ++v) {
    TrainingCase alt;
    alt.job = c.job;
    // A tuned run's vp splits its layers evenly, as the recipe's stated ones do.
    if (!SetPipeline(alt, pp, v).empty() || alt.job.plan.uneven_layers) continue;
    FixMicrobatchGroup(alt, gpus);
    c.alternatives.push_back(alt.job.plan);
  }
}

// Assigns a loaded preset, or returns why it could not be loaded.
template <class T>
std::string Take(T& target, Result<T> loaded) {
  if (!loaded.ok()) return loaded.status().message();
  target = std::move(loaded).value();
  return "";
}

// The cluster a row ran on (ClusterFor) with its GPU, or why there is none.
std::string SetCluster(TrainingCase& c, const std::string& gpu_type) {
  std::string gpu_override;
  std::string cluster = ClusterFor(gpu_type, &gpu_override);
  if (cluster.empty()) {
    return (Trim(gpu_type).empty()
                ? std::string("gpu_type not given (blank, or no gpu_type column)")
                : "no cluster preset for GPU type " + Printable(gpu_type, 60)) +
           " (allowed: A100 (40GB or 80GB), H100, H800, H200, B200, B300, GB200, GB300, as SXM "
           "parts; no PCIe card)";
  }
  std::string problem = Take(c.job.cluster, spec::LoadCluster(cluster));
  if (problem.empty() && !gpu_override.empty())
    problem = Take(c.job.cluster.gpu, spec::LoadGpu(gpu_override));
  if (problem.empty()) c.assumptions.push_back("cluster " + cluster);
  return problem;
}

// The framework a row ran on: its `framework` column, else the one its source names: SC21 ->
// Megatron-LM 2021, Korthikanti et al. -> Megatron-LM 2022, Megatron-LM's README -> Megatron-Core,
// torchtitan, llm-foundry; NVIDIA's performance tables (NeMo, Megatron-Bridge, MLPerf) ->
// nemo-perf, Megatron-Core as NVIDIA's performance scripts run it; anything else -> Megatron-Core.
std::string FrameworkFor(const CsvTable& t, size_t row, const std::string& source) {
  std::string named = ToLower(t.Cell(row, "framework"));
  if (named.empty()) {
    if (Contains(source, "SC21") || Contains(source, "2104.04473")) return "megatron-lm-2021";
    if (Contains(source, "Korthikanti") || Contains(source, "2205.05198"))
      return "megatron-lm-2022";
    if (Contains(source, "Megatron-LM:README")) return "megatron-core";
    if (Contains(source, "torchtitan")) return "torchtitan";
    if (Contains(source, "llm-foundry")) return "llm-foundry";
    if (Contains(source, "NeMo") || Contains(source, "MLPerf")) return "nemo-perf";
    return "megatron-core";
  }
  // The names runs are written with, mapped to the presets (anything else is looked up as given,
  // and an unknown name skips the row with the presets listed).
  static const std::vector<std::pair<std::string, std::string>> kAliases = {
      {"megatron-core", "megatron-core"},   {"megatron core", "megatron-core"},
      {"mcore", "megatron-core"},           {"nemo", "nemo-perf"},
      {"megatron-lm", "megatron-core"},     {"megatron", "megatron-core"},
      {"megatron-bridge", "nemo-perf"},     {"composer", "llm-foundry"},
      {"mosaicml", "llm-foundry"},          {"llm-foundry", "llm-foundry"},
      {"torchtitan", "torchtitan"},         {"deepspeed", "deepspeed"}};
  for (const auto& [alias, preset] : kAliases) {
    if (named == alias || named.rfind(alias + " ", 0) == 0) return preset;
  }
  return t.Cell(row, "framework");  // another preset, or a framework file, as written
}

std::string DescribePlanDefaults(const spec::PlanSpec& p) {
  // SP and TP overlap mean nothing without TP: said as the plan will run them.
  const bool tp = p.tp > 1;
  return fmt::format(": ZeRO {}, {}SP, TP overlap {}, DP overlap {}, {} attention, {} gradients",
                     spec::ZeroModeName(p.zero), p.sequence_parallel && tp ? "" : "no ",
                     p.tp_comm_overlap && tp ? "on" : "off", p.dp_overlap ? "on" : "off",
                     p.attention_kernel == spec::AttentionKernel::kFlash ? "flash" : "unfused",
                     p.grad_reduce_dtype == spec::GradReduceDtype::kBf16 ? "BF16" : "FP32");
}

// The optional run columns of the common schema (tp_comm_overlap, attention, checkpointing,
// fp8_recipe, gpu_power_w, zero, schedule): each, where given, overrides what the framework set.
// Returns why the row cannot be used, or "".
std::string ApplyRunColumns(const CsvTable& t, size_t row, TrainingCase& c) {
  spec::PlanSpec& plan = c.job.plan;
  auto bad = [](std::string_view column, const std::string& value, std::string_view allowed) {
    return fmt::format("{} = '{}' is not understood (allowed: {})", column, Printable(value, 40),
                       allowed);
  };
  if (const std::string& v = t.Cell(row, "tp_comm_overlap"); !v.empty()) {
    Result<bool> on = ParseBool(v);
    if (!on.ok()) return bad("tp_comm_overlap", v, "yes or no");
    plan.tp_comm_overlap = *on;
  }
  if (const std::string& v = t.Cell(row, "attention"); !v.empty()) {
    std::string a = ToLower(v);
    if (a == "unfused" || a == "torch" || a == "math") {
      plan.attention_kernel = spec::AttentionKernel::kUnfused;
    } else if (a == "cudnn" || a == "fused") {
      plan.attention_kernel = spec::AttentionKernel::kFlash;
      c.job.framework.attention_table = spec::AttentionTable::kCudnn;
    } else if (a == "cudnn-9.19") {  // cuDNN 9.19's kernels as measured on one H200
      plan.attention_kernel = spec::AttentionKernel::kFlash;
      c.job.framework.attention_table = spec::AttentionTable::kCudnn919;
    } else if (a == "flash" || a == "flash2" || a == "sdpa" || a == "triton") {
      plan.attention_kernel = spec::AttentionKernel::kFlash;
      c.job.framework.attention_table = spec::AttentionTable::kFlash2;
    } else {
      return bad("attention", v, "cudnn, cudnn-9.19, flash2, triton, sdpa or unfused");
    }
  }
  if (const std::string& v = t.Cell(row, "checkpointing"); !v.empty()) {
    std::string k = ToLower(v);
    if (k == "none" || k == "no") {
      plan.recompute = spec::Recompute::kNone;
    } else if (k == "full" || k == "block") {
      plan.recompute = spec::Recompute::kFull;
    } else if (k == "selective" || k == "core_attention" || k == "core_attn") {
      plan.recompute = spec::Recompute::kSelective;
      c.job.framework.selective_recompute = spec::SelectiveRecompute::kCoreAttention;
    } else if (k == "per_op" || k == "op") {
      plan.recompute = spec::Recompute::kSelective;
      c.job.framework.selective_recompute = spec::SelectiveRecompute::kPerOp;
    } else {
      return bad("checkpointing", v, "none, full, selective (core attention) or per_op");
    }
  }
  // torch.compile: the `compile` column, else a row that says so ("FSDP + torch.compile").
  if (const std::string& v = t.Cell(row, "compile"); !v.empty()) {
    Result<bool> on = ParseBool(v);
    if (!on.ok()) return bad("compile", v, "yes or no");
    c.job.framework.compile = *on;
  } else if (Contains(t.Cell(row, "row_quote"), "torch.compile")) {
    c.job.framework.compile = true;
    c.assumptions.push_back("torch.compile (the row says so)");
  }
  if (const std::string& v = t.Cell(row, "fp8_recipe"); !v.empty()) {
    std::string r = ToLower(v);
    if (r == "delayed") {
      c.job.framework.fp8_recipe = spec::Fp8Recipe::kDelayed;
    } else if (r == "tensorwise" || r == "current") {
      c.job.framework.fp8_recipe = spec::Fp8Recipe::kTensorwise;
    } else if (r == "rowwise") {
      c.job.framework.fp8_recipe = spec::Fp8Recipe::kRowwise;
    } else {
      return bad("fp8_recipe", v, "delayed, tensorwise or rowwise");
    }
  }
  // The power cap: the gpu_power_w column, else "..., 500W power limit" in the GPU description.
  std::string watts_text = t.Cell(row, "gpu_power_w");
  std::string column = "gpu_power_w";
  if (watts_text.empty()) {
    const std::string& gpu = t.Cell(row, "gpu_type");
    size_t at = ToLower(gpu).find("w power limit");
    if (at != std::string::npos) {
      size_t begin = at;
      while (begin > 0 && std::isdigit(static_cast<unsigned char>(gpu[begin - 1]))) --begin;
      watts_text = gpu.substr(begin, at - begin);
      column = "gpu_type";
    }
  }
  if (!watts_text.empty()) {
    Result<double> watts = ParseNumber(watts_text);
    double tdp = c.job.cluster.gpu.tdp_w;
    double lowest = tdp > 0 ? spec::kMinPowerLimitFraction * tdp : 1.0;
    if (!watts.ok() || !std::isfinite(*watts) || *watts < lowest || *watts > 1e5) {
      return bad(column, watts_text,
                 fmt::format("watts from {:.0f} ({:.0f}% of the GPU's TDP) to 100000", lowest,
                             100.0 * spec::kMinPowerLimitFraction));
    }
    if (tdp > 0 && *watts > tdp) {
      // A run's power column above the preset's board power (another SKU, a reading rather than
      // a cap): no cap, said so; a GPU spec may not state a cap above its TDP.
      c.assumptions.push_back(
          fmt::format("power {:.0f} W is above the GPU's {:.0f} W TDP: no cap", *watts, tdp));
    } else {
      c.job.cluster.gpu.power_limit_w = *watts;
      c.assumptions.push_back(fmt::format("power limit {:.0f} W", *watts));
    }
  }
  if (const std::string& v = t.Cell(row, "zero"); !v.empty()) {
    Status set = spec::PlanSchema().Set(plan, "zero", spec::ScalarValue(ToLower(v), "zero"));
    if (!set.ok()) return bad("zero", v, "0, 1, 2, 3 or fsdp");
  }
  if (const std::string& v = t.Cell(row, "schedule"); !v.empty()) {
    Status set =
        spec::PlanSchema().Set(plan, "schedule", spec::ScalarValue(ToLower(v), "schedule"));
    if (!set.ok()) return bad("schedule", v, "gpipe, 1f1b, interleaved, llama3, zb-h1 or zb-v");
    c.schedule_given = true;
  }
  return "";
}

// The precision cell, read (it is prose in some tables: "mixed (16-bit)", "BF16 (amp_bf16; ...)",
// "not stated in README (BF16 assumed ...)"): FP8 where it names FP8 (any recipe), BF16 where it
// names BF16, FP16, 16-bit or mixed precision, FP4 where it names FP4 (NVFP4; MXFP4 priced as
// NVFP4, said so), BF16 with an assumption where it is blank; anything else (FP32, TF32, INT8, a
// typo) is not modeled, and the row says so.
std::optional<spec::Precision> ReadPrecision(const std::string& cell, TrainingCase& c) {
  if (Contains(cell, "FP8")) return spec::Precision::kFp8;
  if (Contains(cell, "FP4")) {
    if (!Contains(cell, "NVFP4")) c.assumptions.push_back(Printable(cell, 40) + " priced as NVFP4");
    c.assumptions.push_back(
        "NVFP4: the transformer blocks' linears in FP4 (the router and output layer in BF16), "
        "read from the FP8 GEMM table at the FP4 peak (no FP4 table; an assumption), with the "
        "recipe's casts and Hadamard transforms");
    return spec::Precision::kFp4;
  }
  for (const char* name : {"BF16", "FP16", "16-bit", "mixed", "bfloat16", "float16", "half"}) {
    if (Contains(cell, name)) return spec::Precision::kBf16;
  }
  if (BlankCell(cell)) {
    c.assumptions.push_back("BF16 (the row gives no precision)");
    return spec::Precision::kBf16;
  }
  return std::nullopt;
}

std::string PrecisionNotModeled(const std::string& cell) {
  return fmt::format(
      "precision = '{}' is not modeled (allowed: BF16, FP16, 16-bit or mixed precision, FP8 and "
      "its recipes, FP4 (NVFP4), or blank for BF16)",
      Printable(cell, 60));
}

}  // namespace

// SC21 eq. (3): F = 96 B s l h^2 (1 + s/(6h) + V/(16 l h)) FLOP per step (with recomputation).
double Sc21FlopsPerStep(const spec::ModelSpec& m, double batch, double seq) {
  double l = static_cast<double>(m.layers), h = static_cast<double>(m.hidden),
         v = static_cast<double>(m.vocab);
  return 96.0 * batch * seq * l * h * h * (1.0 + seq / (6.0 * h) + v / (16.0 * l * h));
}

double FormulaFlopsPerStep(const TrainingCase& c, const plan::Plan& p) {
  if (c.formula == FlopsFormula::kSc21) {
    return Sc21FlopsPerStep(c.job.model, static_cast<double>(p.global_batch),
                            static_cast<double>(c.job.workload.seq_len));
  }
  // Megatron-Core's formula is a convention of the sequence alone; the causal count is the
  // model's own, packed documents included.
  const double per_token =
      c.formula == FlopsFormula::kCausal
          ? model::ModelFlopsPerToken(c.job.model, c.job.workload).per_token_causal
          : model::ModelFlopsPerToken(c.job.model, c.job.workload.seq_len,
                                      c.job.workload.lora_rank > 0)
                .per_token_noncausal;
  return per_token * static_cast<double>(p.TokensPerStep());
}

double MeasuredStepSeconds(const TrainingCase& c, const plan::Plan& p) {
  if (!(c.measured > 0)) return 0;
  if (c.metric == "step_time_s") return c.measured;
  const double gpus = static_cast<double>(p.gpus);
  if (c.metric == "tokens_per_s_per_gpu") {
    return static_cast<double>(p.TokensPerStep()) / gpus / c.measured;
  }
  if (c.metric == "tflops_per_gpu") return FormulaFlopsPerStep(c, p) / (c.measured * 1e12 * gpus);
  return 0;
}

std::string AbovePeakReason(const TrainingCase& c, const plan::Plan& p) {
  const spec::Precision precision = c.job.plan.precision;
  const spec::GpuSpec& gpu = c.job.cluster.gpu;
  const double peak = spec::DensePeak(gpu, precision);
  const double step_s = MeasuredStepSeconds(c, p);
  if (!(peak > 0) || !(step_s > 0)) return "";
  const double per_token = model::ModelFlopsPerToken(c.job.model, c.job.workload).per_token_causal;
  const double per_gpu =
      per_token * static_cast<double>(p.TokensPerStep()) / step_s / static_cast<double>(p.gpus);
  if (per_gpu <= peak) return "";
  const double pct = 100.0 * per_gpu / peak;
  return fmt::format(
      "{} is not a measurement a GPU could make: at it each GPU would do {:.3g} FLOP/s of the "
      "model's work ({:.4g} FLOP a token, causal), {}% of the {}'s nameplate dense {} peak of "
      "{:.4g} FLOP/s (allowed: a measurement of at most 100% of the peak)",
      c.stated.empty() ? fmt::format("{} = {:g}", c.metric, c.measured) : c.stated, per_gpu,
      per_token, pct < 1000 ? fmt::format("{:.1f}", pct) : fmt::format("{:.3g}", pct), gpu.name,
      spec::PrecisionName(precision), peak);
}

bool InGpuRange(int64_t gpus, const Options& options) {
  if (options.min_gpus > 0 && gpus < options.min_gpus) return false;
  return options.max_gpus <= 0 || gpus <= options.max_gpus;
}

std::vector<TrainingCase> CommonSchemaCases(const CsvTable& t, const Options& options) {
  std::vector<TrainingCase> out;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const std::string& source = t.Cell(i, "source");
    const std::string& gpu_type = t.Cell(i, "gpu_type");
    const std::string& precision = t.Cell(i, "precision");
    if (!options.match.empty() && !Contains(source, options.match) &&
        !Contains(t.Cell(i, "model"), options.match))
      continue;
    if (!options.gpu_filter.empty() && !Contains(gpu_type, options.gpu_filter)) continue;
    if (!options.precision_filter.empty() && !Contains(precision, options.precision_filter))
      continue;
    TrainingCase c;
    c.line = t.lines[i];
    c.source = source;
    std::string model_name = t.Cell(i, "model");
    int64_t gpus = Integer(t.Cell(i, "num_gpus"));
    if (!InGpuRange(gpus, options)) continue;
    c.label = fmt::format("{} on {} {}", model_name, gpus, gpu_type);
    auto skip = [&](std::string reason) {
      c.skipped = std::move(reason);
      out.push_back(c);
    };
    if (std::string bad = CheckSizeCells(t, i); !bad.empty()) {
      skip(bad);
      continue;
    }
    // Fine-tuning, named by the task column or the model: LoRA (adapters, base frozen) and SFT
    // (every weight trained), both on packed documents unless the row says otherwise.
    const std::string task = t.Cell(i, "task") + " " + model_name;
    const bool lora = Contains(task, "LoRA");
    const bool fine_tuning =
        lora || Contains(task, "SFT") || Contains(task, "PEFT") || Contains(task, "fine-tun");
    if (Contains(model_name, "w/ MTP") || Contains(model_name, "with MTP")) {
      skip("multi-token prediction (MTP) layers are not modeled");
      continue;
    }
    if (std::string problem = SetCluster(c, gpu_type); !problem.empty()) {
      skip(problem);
      continue;
    }
    if (gpus <= 0) {
      skip("num_gpus not given");
      continue;
    }
    c.job.gpus = gpus;

    int64_t seq = Integer(t.Cell(i, "seq_len"));
    // Architecture from the row when it has one, else from a preset of the same name.
    int64_t layers = Integer(t.Cell(i, "layers")), hidden = Integer(t.Cell(i, "hidden")),
            heads = Integer(t.Cell(i, "heads"));
    if (layers > 0 && hidden > 0 && heads > 0) {
      bool llama = Contains(model_name, "llama");
      bool nemotron = Contains(model_name, "nemotron");
      std::string base = llama ? "llama3-8b" : nemotron ? "nemotron4-15b" : "gpt3-175b";
      std::string problem = Take(c.job.model, spec::LoadModel(base));
      if (!problem.empty()) {
        skip(problem);
        continue;
      }
      c.job.model.name = model_name;
      c.job.model.layers = layers;
      c.job.model.hidden = hidden;
      c.job.model.heads = heads;
      c.job.model.head_dim = 0;
      c.job.model.kv_heads = Integer(t.Cell(i, "kv_heads"));
      int64_t ffn = Integer(t.Cell(i, "ffn_hidden"));
      if (ffn == 0 && llama) {
        skip("ffn_hidden not given for a SwiGLU model");
        continue;
      }
      c.job.model.ffn_hidden = ffn > 0 ? ffn : 4 * hidden;
      if (ffn == 0) c.assumptions.push_back("ffn_hidden = 4h");
      int64_t vocab = Integer(t.Cell(i, "vocab"));
      if (vocab > 0) c.job.model.vocab = vocab;
      if (c.job.model.position_embedding == spec::PositionEmbedding::kLearned) {
        c.job.model.max_position_embeddings = std::max<int64_t>(seq, 2048);
      }
      c.assumptions.push_back("architecture style of " + base);
    } else {
      std::string preset = PresetFor(model_name);
      if (preset.empty()) {
        skip("architecture not given and no preset named like " + model_name);
        continue;
      }
      std::string problem = Take(c.job.model, spec::LoadModel(preset));
      if (!problem.empty()) {
        skip(problem);
        continue;
      }
      c.assumptions.push_back("architecture of preset " + preset);
    }

    std::string framework_name = FrameworkFor(t, i, source);
    if (std::string problem = Take(c.job.framework, spec::LoadFramework(framework_name));
        !problem.empty()) {
      skip(problem);
      continue;
    }
    const std::string framework_note =
        fmt::format("framework {} ({})", framework_name,
                    t.Cell(i, "framework").empty() ? "from the source" : "framework column");
    spec::PlanSpec& plan = c.job.plan;
    plan = c.job.framework.plan;
    plan.tp = std::max<int64_t>(1, Integer(t.Cell(i, "tp")));
    plan.cp = std::max<int64_t>(1, Integer(t.Cell(i, "cp")));
    int64_t pp = std::max<int64_t>(1, Integer(t.Cell(i, "pp")));
    int64_t vp = std::max<int64_t>(1, Integer(t.Cell(i, "vp")));
    if (t.Cell(i, "tp").empty() || t.Cell(i, "pp").empty()) {
      skip("parallel configuration (tp, pp) not given");
      continue;
    }
    // A stated data-parallel size must be what the GPUs leave (dp is otherwise derived).
    // (In doubles: each size is at most 2^31, and the product may pass 2^63.)
    if (int64_t dp = Integer(t.Cell(i, "dp"));
        dp > 0 && static_cast<double>(dp) * static_cast<double>(plan.tp) *
                          static_cast<double>(plan.cp) * static_cast<double>(pp) !=
                      static_cast<double>(gpus)) {
      skip(fmt::format("dp = {} does not match num_gpus / (tp x cp x pp) = {} / ({} x {} x {}) "
                       "(allowed: the quotient, or blank)",
                       dp, gpus, plan.tp, plan.cp, pp));
      continue;
    }
    plan.micro_batch = Integer(t.Cell(i, "micro_batch"));
    if (plan.micro_batch <= 0) {
      plan.micro_batch = 1;
      c.assumptions.push_back("micro-batch 1");
    }
    if (std::optional<spec::Precision> read = ReadPrecision(precision, c)) {
      plan.precision = *read;
    } else {
      skip(PrecisionNotModeled(precision));
      continue;
    }
    // NVIDIA's names for FP8 scaling: CS = current (per-tensor) scaling; MX = MXFP8, one scale
    // per 32 elements, priced as per-tensor current scaling (an assumption: no MX recipe yet).
    if (Contains(precision, "FP8-CS") || Contains(precision, "FP8 CS")) {
      c.job.framework.fp8_recipe = spec::Fp8Recipe::kTensorwise;
      c.assumptions.push_back("FP8 with current scaling (precision " + precision + ")");
    } else if (Contains(precision, "MXFP8") || Contains(precision, "FP8-MX")) {
      c.job.framework.fp8_recipe = spec::Fp8Recipe::kTensorwise;
      c.assumptions.push_back("MXFP8 priced as FP8 with per-tensor current scaling");
    }
    // Expert parallelism (MoE rows); a dense model refuses ep > 1 when the plan is built. The
    // step model routes tokens evenly whatever the row says of dropping them.
    if (Contains(model_name, "tokendrop") || Contains(model_name, "dropless")) {
      c.assumptions.push_back("routing priced as balanced (the row's token dropping is not modeled)");
    }
    if (int64_t ep = Integer(t.Cell(i, "ep")); ep > 1) {
      plan.ep = ep;
      // An ep larger than the dp * cp ranks of a stage can only span the TP ranks too, which
      // needs expert TP 1 (Megatron-Core's expert_tensor_parallel_size).
      int64_t model_parallel = plan.tp * plan.cp * pp;
      int64_t dp = model_parallel > 0 ? gpus / model_parallel : 0;
      if (plan.tp > 1 && dp > 0 && (dp * plan.cp) % ep != 0 && plan.etp == 0) {
        plan.etp = 1;
        c.assumptions.push_back(fmt::format(
            "expert TP 1 (ep {} does not divide the {} data-parallel ranks of a stage)", ep,
            dp * plan.cp));
      }
    }
    const std::string& recompute = t.Cell(i, "recompute");
    const std::string off = ToLower(Trim(recompute));
    if (Contains(recompute, "full")) {
      plan.recompute = spec::Recompute::kFull;
    } else if (Contains(recompute, "selective")) {
      plan.recompute = spec::Recompute::kSelective;
    } else if (BlankCell(recompute) || off == "none" || off == "no" || off == "off" ||
               off == "false") {
      plan.recompute = spec::Recompute::kNone;
    } else {
      skip(fmt::format("recompute = '{}' (allowed: none, full or selective, or blank)",
                       Printable(recompute, 60)));
      continue;
    }
    // The SC21 paper itself (its rows trained with full recomputation; its FLOP formula).
    bool sc21 = Contains(source, "SC21") || Contains(source, "2104.04473");
    if (sc21 && recompute.empty()) {
      plan.recompute = spec::Recompute::kFull;  // the paper trains every model with it (section 5)
      c.assumptions.push_back("full recomputation");
    }
    c.checkpointing_given = sc21 || !BlankCell(recompute) || !t.Cell(i, "checkpointing").empty();
    // PyTorch FSDP as the fsdp column names it; PURE mixed precision reduces in BF16.
    const std::string& fsdp = t.Cell(i, "fsdp");
    if (Contains(fsdp, "SHARD_GRAD_OP")) {
      plan.zero = spec::ZeroMode::kZero2;
    } else if (Contains(fsdp, "FULL_SHARD")) {
      plan.zero = spec::ZeroMode::kZero3;
    } else if (!fsdp.empty() &&
               std::all_of(fsdp.begin(), fsdp.end(),
                           [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); }) &&
               Integer(fsdp) > 1) {
      // A sharding degree (Megatron-Bridge's FSDP column): Megatron FSDP, whose default shards
      // optimizer state, gradients and parameters (ZeRO 3) over the data-parallel ranks (with
      // CP's, which shard together); a degree below them shards within replica groups (HSDP).
      // (Where tp x pp does not divide the GPUs, the plan's own rule says so below.)
      const int64_t degree = Integer(fsdp);
      int64_t replicas = 1;
      if (gpus % (plan.tp * pp) == 0) {
        const int64_t dp_cp = gpus / (plan.tp * pp);
        // A shard group holds whole CP groups (plan.dp_replicate splits dp): a multiple of cp
        // dividing the dp x cp ranks.
        if (dp_cp % degree != 0 || degree % plan.cp != 0) {
          skip(
              fmt::format("fsdp = {} is not a multiple of cp = {} dividing the {} data- and "
                          "context-parallel ranks (num_gpus / (tp x pp) = {} / ({} x {})) "
                          "(allowed: such a multiple, the ranks a shard group holds)",
                          degree, plan.cp, dp_cp, gpus, plan.tp, pp));
          continue;
        }
        replicas = dp_cp / degree;
      }
      plan.zero = spec::ZeroMode::kZero3;
      plan.dp_replicate = replicas;
      c.assumptions.push_back(fmt::format(
          "fsdp {}: parameters, gradients and optimizer state "
          "sharded (ZeRO 3){}",
          degree, replicas > 1 ? fmt::format(" in {} replica groups (HSDP)", replicas) : ""));
    } else if (!BlankCell(fsdp) && Trim(fsdp) != "0" && Trim(fsdp) != "1" &&
               !Contains(fsdp, "NO_SHARD")) {
      skip(
          fmt::format("fsdp = '{}' is not a sharding this reader knows (allowed: blank, 0, 1, "
                      "NO_SHARD, SHARD_GRAD_OP, FULL_SHARD or a sharding degree above 1)",
                      Printable(fsdp, 40)));
      continue;
    }
    if (Contains(precision, "PURE")) plan.grad_reduce_dtype = spec::GradReduceDtype::kBf16;
    if (std::string bad = ApplyRunColumns(t, i, c); !bad.empty()) {
      skip(bad);
      continue;
    }
    c.assumptions.push_back(framework_note + DescribePlanDefaults(plan));
    c.job.workload.seq_len = seq;
    // A lora_rank cell states the adapters' rank (and that the run is LoRA); a LoRA task without
    // one takes the recipes' default.
    if (const std::string& rank = t.Cell(i, "lora_rank"); !BlankCell(rank)) {
      if (std::string bad = NumberProblem("lora_rank", rank, /*whole=*/true); !bad.empty()) {
        skip(bad);
        continue;
      }
      c.job.workload.lora_rank = Integer(rank);
      if (c.job.workload.lora_rank < 1) {
        skip(fmt::format("lora_rank = {} (allowed: a rank of at least 1, or blank for no LoRA)",
                         Printable(rank, 40)));
        continue;
      }
      c.assumptions.push_back(fmt::format(
          "LoRA rank {} (the row's) on QKV, attention output, fc1 and fc2, base weights frozen",
          c.job.workload.lora_rank));
    } else if (lora) {
      SetRecipeLora(c);
    }
    // A document_tokens cell states the packed documents' length (0: one a sequence); a
    // fine-tuning row of NVIDIA's without one takes its recipes' data, anyone else's is priced as
    // one document a sequence, and says so.
    if (const std::string& documents = t.Cell(i, "document_tokens"); !BlankCell(documents)) {
      c.job.workload.document_tokens = Integer(documents);  // a count (CheckSizeCells)
      if (seq > 0 && c.job.workload.document_tokens > seq) {
        skip(
            fmt::format("document_tokens = {} (allowed: 0, one document a sequence, to the "
                        "sequence's {} tokens)",
                        Printable(documents, 40), seq));
        continue;
      }
      if (c.job.workload.document_tokens > 0) {
        c.assumptions.push_back(fmt::format(
            "packed documents of {} tokens (the row's), attention within each",
            c.job.workload.document_tokens));
      }
    } else if (fine_tuning && Contains(c.source, "NVIDIA")) {
      SetRecipeDocuments(c);  // NVIDIA's recipes' data
    } else if (fine_tuning) {
      c.assumptions.push_back(
          "fine-tuning priced as one document a sequence (the row gives no document_tokens)");
    }
    c.job.workload.global_batch = Integer(t.Cell(i, "global_batch"));
    if (c.job.workload.global_batch <= 0) {
      int64_t tokens = Integer(t.Cell(i, "tokens_per_batch"));
      if (tokens > 0 && seq > 0) c.job.workload.global_batch = tokens / seq;
    }
    if (seq <= 0 || c.job.workload.global_batch <= 0) {
      skip("sequence length or global batch not given");
      continue;
    }
    std::string problem = SetPipeline(c, pp, vp);
    if (!problem.empty()) {
      skip(problem);
      continue;
    }
    FixMicrobatchGroup(c, gpus);

    double tokens_per_s = Number(t.Cell(i, "tokens_per_s_per_gpu"));
    double tflops = Number(t.Cell(i, "tflops_per_gpu"));
    if (std::string bad = CheckMeasuredCells(
            t, i,
            {"tokens_per_s_per_gpu", "tflops_per_gpu", "step_time_s", "iteration_time_s", "mfu"});
        !bad.empty()) {
      skip(bad);
      continue;
    }
    const double mfu = Number(t.Cell(i, "mfu"));
    // How the row's TFLOP/s or MFU counts FLOPs: the flops_formula column, else SC21's for the
    // SC21 paper and Megatron-Core's (full attention) for everyone else.
    FlopsFormula formula = sc21 ? FlopsFormula::kSc21 : FlopsFormula::kMegatron;
    if (const std::string f = ToLower(Trim(t.Cell(i, "flops_formula"))); !f.empty()) {
      if (f == "sc21") {
        formula = FlopsFormula::kSc21;
      } else if (f == "megatron" || f == "palm" || f == "noncausal") {
        formula = FlopsFormula::kMegatron;
      } else if (f == "causal") {
        formula = FlopsFormula::kCausal;
      } else {
        skip(
            fmt::format("flops_formula = '{}' is not understood (allowed: megatron, palm or "
                        "noncausal (6N + 12 L q s a token), causal (6N + 6 L q (s + 1)), sc21)",
                        Printable(t.Cell(i, "flops_formula"), 40)));
        continue;
      }
    }
    const char* formula_note =
        formula == FlopsFormula::kSc21 ? "model FLOPs by SC21's formula (with recomputation)"
        : formula == FlopsFormula::kCausal
            ? "model FLOPs 6N + 6 L q (s + 1) a token (causal attention)"
            : "model FLOPs 6N + 12 L q s a token (full attention: Megatron-Core's, PaLM's MFU)";
    if (tokens_per_s > 0) {
      c.metric = "tokens_per_s_per_gpu";
      c.measured = tokens_per_s;
    } else if (tflops > 0) {
      c.metric = "tflops_per_gpu";
      c.measured = tflops;
      c.formula = formula;
      c.assumptions.push_back(formula_note);
    } else if (double step = Number(t.Cell(i, "step_time_s")),
               iteration = Number(t.Cell(i, "iteration_time_s"));
               step > 0 || iteration > 0) {
      // Seconds per iteration (e.g. Korthikanti et al.'s Table 5), under either name.
      if (step > 0 && iteration > 0 && step != iteration) {
        skip(
            fmt::format("step_time_s = {:g} and iteration_time_s = {:g} disagree (allowed: one of "
                        "them, or both the same)",
                        step, iteration));
        continue;
      }
      c.metric = "step_time_s";
      c.measured = step > 0 ? step : iteration;
    } else if (mfu > 0) {
      // MFU alone, as papers report it: the model FLOP/s over the GPU's nameplate dense peak, by
      // default at the row's precision (the FP8 peak for an FP8 run, as NVIDIA's tables count
      // it; torchtitan divides by the BF16 peak: mfu_peak), scored as the TFLOP/s it states
      // under the row's formula.
      const std::string& written = t.Cell(i, "mfu");
      if (mfu > 100) {
        skip(fmt::format("mfu = {} is above the peak (allowed: 0% to 100%, or blank)",
                         Printable(written, 20)));
        continue;
      }
      if (mfu < 1) {
        skip(
            fmt::format("mfu = {} reads as {:g}% (allowed: a percentage from 1 to 100, as 45 or "
                        "45%; a fraction such as 0.45 is written 45)",
                        Printable(written, 20), mfu));
        continue;
      }
      spec::Precision peak_precision = plan.precision;
      if (const std::string k = ToLower(Trim(t.Cell(i, "mfu_peak"))); !k.empty()) {
        // The plan's own precision names (bf16, fp8, fp4), read by its schema.
        spec::PlanSpec named;
        if (!spec::PlanSchema().Set(named, "precision", spec::ScalarValue(k, "mfu_peak")).ok()) {
          skip(
              fmt::format("mfu_peak = '{}' is not understood (allowed: bf16, fp8 or fp4, or "
                          "blank for the row's precision)",
                          Printable(t.Cell(i, "mfu_peak"), 20)));
          continue;
        }
        peak_precision = named.precision;
      }
      const spec::GpuSpec& gpu = c.job.cluster.gpu;
      const double peak = spec::DensePeak(gpu, peak_precision);
      if (!(peak > 0)) {
        skip(fmt::format(
            "mfu of the {} peak: the {} has none (allowed: mfu_peak bf16, or a GPU "
            "with {} tensor cores)",
            spec::PrecisionName(peak_precision), gpu.name, spec::PrecisionName(peak_precision)));
        continue;
      }
      c.metric = "tflops_per_gpu";
      c.measured = mfu / 100.0 * peak / 1e12;
      c.stated = fmt::format("mfu = {}", Printable(written, 20));
      c.formula = formula;
      c.assumptions.push_back(fmt::format(
          "tflops_per_gpu {:.1f} from mfu {:g}% of the {}'s dense {} peak ({:.1f} TFLOP/s)",
          c.measured, mfu, gpu.name, spec::PrecisionName(peak_precision), peak / 1e12));
      c.assumptions.push_back(formula_note);
    } else {
      skip("no measured tokens/s/GPU, TFLOP/s/GPU, step time (step_time_s) or mfu");
      continue;
    }
    c.label = fmt::format("{} on {} {} (TP {} CP {} PP {} VP {}{})", model_name, gpus, gpu_type,
                          plan.tp, plan.cp, pp, vp,
                          plan.ep > 1 ? fmt::format(" EP {}", plan.ep) : std::string());
    out.push_back(c);
  }
  return out;
}

std::vector<TrainingCase> DgxcCases(const CsvTable& t, const Options& options) {
  std::vector<TrainingCase> out;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const std::string& title = t.Cell(i, "table_title");
    const std::string& gpu_type = t.Cell(i, "gpu_type");
    const std::string& precision = t.Cell(i, "precision");
    if (!options.match.empty() && !Contains(title, options.match)) continue;
    if (!options.gpu_filter.empty() && !Contains(gpu_type, options.gpu_filter)) continue;
    if (!options.precision_filter.empty() && !Contains(precision, options.precision_filter))
      continue;
    TrainingCase c;
    c.line = t.lines[i];
    int64_t gpus = Integer(t.Cell(i, "num_gpus"));
    if (!InGpuRange(gpus, options)) continue;
    c.label = fmt::format("{}, {} GPUs", title, gpus);
    auto skip = [&](std::string reason) {
      c.skipped = std::move(reason);
      out.push_back(c);
    };
    if (std::string bad = CheckRecipeCountCells(t, i); !bad.empty()) {
      skip(bad);
      continue;
    }
    const bool fine_tuning = Contains(title, "finetuning");
    const bool lora = fine_tuning && Contains(title, "LORA");
    if (Contains(title, "maxtext") || Contains(title, "paxml")) {
      skip("JAX (MaxText/Paxml) FSDP recipes are not modeled");
      continue;
    }
    std::string preset = PresetFor(title);
    if (preset.empty()) {
      skip("no architecture preset for this model");
      continue;
    }
    const char* config_column =
        t.Cell(i, "title_config").empty() ? "config_table_row" : "title_config";
    const std::string& config = t.Cell(i, config_column);
    std::string repeated;
    std::map<std::string, std::string> kv = ConfigPairs(config, &repeated);
    if (std::string problem = CheckConfigPairs(kv, repeated, config_column); !problem.empty()) {
      skip(problem);
      continue;
    }
    if (!kv.count("TP") || !kv.count("PP")) {
      skip("parallel configuration not given");
      continue;
    }
    std::string problem = SetCluster(c, gpu_type);
    if (problem.empty()) problem = Take(c.job.model, spec::LoadModel(preset));
    // A cell that is not a count was skipped above (CheckRecipeCountCells): only a blank one here.
    if (problem.empty() && gpus <= 0) problem = "num_gpus not given";
    if (!problem.empty()) {
      skip(problem);
      continue;
    }
    c.assumptions.push_back("architecture of preset " + preset);
    c.job.gpus = gpus;
    // NVIDIA's recipes run Megatron-Core as its performance scripts set it up (nemo-perf): its
    // kernels and plan defaults, then the recipe's own plan keys.
    if (std::string loaded = Take(c.job.framework, spec::LoadFramework("nemo-perf"));
        !loaded.empty()) {
      skip(loaded);
      continue;
    }

    spec::PlanSpec& plan = c.job.plan;
    plan = c.job.framework.plan;
    plan.tp = Get(kv, "TP", 1);
    plan.cp = Get(kv, "CP", 1);
    int64_t pp = Get(kv, "PP", 1);
    int64_t vp = Get(kv, "VP", 1);
    bool vp_given = Get(kv, "VP", 0) > 0;
    plan.micro_batch = Get(kv, "MBS", 1);
    // Expert parallelism as the recipe states it ("EP=NA" on dense models); expert TP where
    // given, else Megatron-Core's default (the TP size).
    if (int64_t ep = Get(kv, "EP", 1); ep > 1) {
      plan.ep = ep;
      if (Get(kv, "ETP", 0) > 0) plan.etp = Get(kv, "ETP", 0);
    }
    // Small-scale rows run a shortened model; the source records the overrides.
    if (Integer(t.Cell(i, "layers_override")) > 0)
      c.job.model.layers = Integer(t.Cell(i, "layers_override"));
    if (!t.Cell(i, "tp_override").empty())
      plan.tp = std::max<int64_t>(1, Integer(t.Cell(i, "tp_override")));
    if (!t.Cell(i, "pp_override").empty())
      pp = std::max<int64_t>(1, Integer(t.Cell(i, "pp_override")));
    if (!t.Cell(i, "vp_override").empty()) {
      vp = std::max<int64_t>(1, Integer(t.Cell(i, "vp_override")));
      vp_given = true;
    }
    if (!t.Cell(i, "cp_override").empty())
      plan.cp = std::max<int64_t>(1, Integer(t.Cell(i, "cp_override")));
    if (kv.count("LAYERS") && Integer(t.Cell(i, "layers_override")) == 0)
      c.job.model.layers = Get(kv, "LAYERS", c.job.model.layers);
    int64_t seq = Get(kv, "SEQLEN", Get(kv, "SEQ", 0));
    const bool seq_stated = seq > 0;
    if (seq == 0) {
      seq = Contains(preset, "llama3") ? 8192 : Contains(preset, "nemotron") ? 4096 : 2048;
      c.assumptions.push_back(fmt::format("sequence {} (the recipe family's)", seq));
    }
    c.job.workload.seq_len = seq;
    if (lora) SetRecipeLora(c);
    if (fine_tuning) SetRecipeDocuments(c);
    std::optional<int64_t> model_parallel = BoundedProduct({plan.tp, plan.cp, pp}, gpus);
    if (!model_parallel || *model_parallel < 1) {
      skip(fmt::format("tp {} x cp {} x pp {} is more than the {} GPUs", plan.tp, plan.cp, pp,
                       gpus));
      continue;
    }
    int64_t dp = gpus / *model_parallel;
    // The configuration was matched to the row by GPU count, precision and size (the source's
    // notes): one that names another count or precision describes another run. A data-parallel
    // size or accumulation that disagrees is the recipe's at its smallest count (the LoRA rows
    // at 16 and 32 GPUs state DP = 8) or a typo of its batch (GBS 1204 with GA 64): the plan
    // follows the row's GPUs and batch, and says so.
    if (int64_t stated = Get(kv, "GPUS", 0); stated > 0 && stated != gpus) {
      skip(fmt::format("{} GPUs = {} contradicts num_gpus = {} (allowed: the row's own count)",
                       config_column, stated, gpus));
      continue;
    }
    if (kv.count("PRECISION") && !Contains(kv.at("PRECISION"), precision) &&
        !Contains(precision, kv.at("PRECISION"))) {
      skip(fmt::format("{} Precision = '{}' contradicts precision = '{}' (allowed: the row's own "
                       "precision)",
                       config_column, Printable(kv.at("PRECISION"), 40), Printable(precision, 40)));
      continue;
    }
    if (int64_t stated = Get(kv, "DP", 0); stated > 0 && stated != dp) {
      c.assumptions.push_back(fmt::format("dp {} from the GPUs, not the {}'s DP = {}", dp,
                                          config_column, stated));
    }
    // The precision first: the mfu that may confirm a derived batch is of its peak.
    if (std::optional<spec::Precision> read = ReadPrecision(precision, c)) {
      plan.precision = *read;
    } else {
      skip(PrecisionNotModeled(precision));
      continue;
    }
    if (std::string bad = CheckMeasuredCells(
            t, i, {"tokens_per_s_per_gpu_derived", "step_time_s", "tokens_per_s_total", "mfu"});
        !bad.empty()) {
      skip(bad);
      continue;
    }
    int64_t gbs = Integer(t.Cell(i, "gbs_override"));
    if (gbs == 0) gbs = Get(kv, "GBS", 0);
    if (gbs == 0 && kv.count("GA")) {
      gbs = BoundedProduct({Get(kv, "GA", 1), plan.micro_batch, dp}, spec::kMaxCount).value_or(-1);
      if (gbs < 0) {
        skip("GA x micro-batch x dp is beyond any global batch");
        continue;
      }
    }
    if (gbs == 0 && seq_stated) {
      // Not stated, but the row's own cells give it: the tokens of a step (the total throughput
      // times the step time) over the sequence, when that is whole micro-batches on every
      // replica and the row's mfu, where given, agrees with its throughput.
      const double step_s = Number(t.Cell(i, "step_time_s"));
      const double per_gpu = Number(t.Cell(i, "tokens_per_s_per_gpu_derived"));
      double total = Number(t.Cell(i, "tokens_per_s_total"));
      if (total <= 0) total = per_gpu * static_cast<double>(gpus);
      const std::optional<double> by_mfu = MfuRate(t, i, c);
      const std::optional<int64_t> whole =
          step_s > 0 && total > 0
              ? WholeBatch(total * step_s / static_cast<double>(seq), dp * plan.micro_batch)
              : std::nullopt;
      if (whole && (!by_mfu || MfuAgrees(total / static_cast<double>(gpus), *by_mfu))) {
        gbs = *whole;
        c.assumptions.push_back(fmt::format(
            "global batch {} from the row's throughput and step time ({:.0f} tokens/s x {} s / "
            "sequence {}; the row does not state it)",
            gbs, total, Printable(t.Cell(i, "step_time_s"), 20), seq));
      }
    }
    if (gbs == 0) {
      skip("global batch not given");
      continue;
    }
    c.job.workload.global_batch = gbs;
    c.assumptions.push_back("framework nemo-perf (NVIDIA's performance recipes)" +
                            DescribePlanDefaults(plan));
    c.metric = "tokens_per_s_per_gpu";
    c.measured = Number(t.Cell(i, "tokens_per_s_per_gpu_derived"));
    if (c.measured <= 0) {
      skip("no measured tokens/s/GPU");
      continue;
    }
    const int64_t stated_gbs = gbs;
    if (std::string contradiction = ReconcileRecipeRow(t, i, gpus, dp, seq_stated, gbs, c);
        !contradiction.empty()) {
      skip(contradiction);
      continue;
    }
    if (int64_t ga = Get(kv, "GA", 0); ga > 0 && kv.count("GBS") && gbs == stated_gbs) {
      const std::optional<int64_t> implied =
          BoundedProduct({ga, plan.micro_batch, dp}, spec::kMaxCount);
      if (implied && *implied != gbs) {
        c.assumptions.push_back(
            fmt::format("global batch {} as stated, not GA x micro-batch x dp = {} x {} x {} = {}",
                        gbs, ga, plan.micro_batch, dp, *implied));
      }
    }
    problem = SetPipeline(c, pp, vp);
    if (!problem.empty()) {
      skip(problem);
      continue;
    }
    FixMicrobatchGroup(c, gpus);
    if (!vp_given) AddVpAlternatives(c, pp, gpus);
    c.label = fmt::format(
        "{}, {} GPUs (TP {} CP {} PP {} VP {}{}, GBS {})", title.substr(0, title.find(" (")), gpus,
        plan.tp, plan.cp, pp, vp,
        plan.ep > 1 ? fmt::format(" EP {} ETP {}", plan.ep, plan.etp > 0 ? plan.etp : plan.tp)
                    : std::string(),
        gbs);
    out.push_back(c);
  }
  return out;
}

}  // namespace scaleplan::validate
