// Reads a Hugging Face transformers config.json into a ModelSpec.
//
// Key mapping (transformers' own names): hidden_size -> hidden, intermediate_size -> ffn_hidden,
// num_hidden_layers -> layers, num_attention_heads -> heads, num_key_value_heads -> kv_heads
// (absent: = heads), head_dim -> head_dim (absent or null: hidden / heads), vocab_size -> vocab,
// tie_word_embeddings -> tied_embeddings (absent: false); Mistral and Mixtral: sliding_window ->
// sliding_window (every layer local; null: none). All supported architectures use a gated
// MLP (SwiGLU; a gated GELU has the same shapes and FLOPs), RMSNorm and RoPE.
// Per family: Qwen2 always has a QKV bias; Qwen3 has per-head q/k RMSNorm; attention_bias = true
// is read as a QKV bias (the output-projection bias, h parameters per layer, is not counted).
// MoE: Mixtral num_local_experts / num_experts_per_tok with experts of intermediate_size; Qwen MoE
// num_experts, num_experts_per_tok, moe_intermediate_size, shared_expert_intermediate_size (one
// shared expert), decoder_sparse_step (layer i is MoE when (i+1) % step == 0). DeepSeek-V2/V3
// (and Kimi K2, which ships as DeepseekV3ForCausalLM): multi-head latent attention from
// q_lora_rank (null: no query compression), kv_lora_rank, qk_nope_head_dim -> head_dim,
// qk_rope_head_dim -> rope_head_dim, v_head_dim; n_routed_experts, num_experts_per_tok,
// moe_intermediate_size, n_shared_experts (of moe_intermediate_size each), first_k_dense_replace
// leading dense layers of intermediate_size, moe_layer_freq 1 (others are refused).
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/text.h"
#include "spec/readers.h"

namespace scaleplan::spec {

namespace {

struct Family {
  const char* architecture;
  const char* model_type;
  bool qkv_bias;
  bool qk_norm;
  enum { kDense, kMixtral, kQwenMoe, kDeepSeek } moe;
};

constexpr Family kFamilies[] = {
    {"LlamaForCausalLM", "llama", false, false, Family::kDense},
    {"MistralForCausalLM", "mistral", false, false, Family::kDense},
    {"MixtralForCausalLM", "mixtral", false, false, Family::kMixtral},
    {"Qwen2ForCausalLM", "qwen2", true, false, Family::kDense},
    {"Qwen2MoeForCausalLM", "qwen2_moe", true, false, Family::kQwenMoe},
    {"Qwen3ForCausalLM", "qwen3", false, true, Family::kDense},
    {"Qwen3MoeForCausalLM", "qwen3_moe", false, true, Family::kQwenMoe},
    {"DeepseekV2ForCausalLM", "deepseek_v2", false, false, Family::kDeepSeek},
    {"DeepseekV3ForCausalLM", "deepseek_v3", false, false, Family::kDeepSeek},
};

std::string SupportedList() {
  std::vector<std::string> names;
  for (const Family& f : kFamilies) names.emplace_back(f.architecture);
  return Join(names, ", ");
}

std::string ScalarText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return fmt::format("{}", v.get<double>());
  return JsonShown(v);
}

}  // namespace

Result<ModelSpec> ParseHfConfig(std::string_view text, const std::string& origin) {
  SP_ASSIGN_OR_RETURN(nlohmann::json config, ParseJson(text, origin));
  if (!config.is_object()) return Status::Parse(origin + ": expected a JSON object");

  const Family* family = nullptr;
  std::string arch;
  if (config.contains("architectures") && config["architectures"].is_array() &&
      !config["architectures"].empty() && config["architectures"][0].is_string()) {
    arch = config["architectures"][0].get<std::string>();
    for (const Family& f : kFamilies) {
      if (arch == f.architecture) family = &f;
    }
  } else if (config.contains("model_type") && config["model_type"].is_string()) {
    arch = config["model_type"].get<std::string>();
    for (const Family& f : kFamilies) {
      if (arch == f.model_type) family = &f;
    }
  }
  if (family == nullptr) {
    return Status::Invalid(fmt::format("{}: architectures = {} is not supported (allowed: {})",
                                       origin, arch.empty() ? "(missing)" : Printable(arch, 60),
                                       SupportedList()));
  }

  // The two names of one architecture must agree: a Llama config whose model_type says mixtral
  // would be read as dense and its expert keys dropped.
  if (config.contains("model_type") && config["model_type"].is_string() &&
      config["model_type"].get<std::string>() != family->model_type) {
    return Status::Invalid(fmt::format(
        "{}: architectures = {} and model_type = {} name different architectures (allowed: "
        "model_type {} with {})",
        origin, family->architecture, Printable(config["model_type"].get<std::string>(), 60),
        family->model_type, family->architecture));
  }

  ModelSpec model;
  model.source = "Hugging Face config.json: " + origin;
  // Optional keys of the wrong type are ignored (they do not change the shapes), except
  // attention_bias, which does.
  if (config.contains("_name_or_path") && config["_name_or_path"].is_string()) {
    model.name = config["_name_or_path"].get<std::string>();
  }
  if (model.name.empty()) model.name = std::string(family->model_type);
  model.activation = Activation::kSwiGlu;
  // These families gate their MLP; the activation inside the gate (transformers' ACT2FN name)
  // changes no shape or FLOP count the model counts, but a name transformers does not know (the
  // names of its activations module, recalled) is a config this reader would misread.
  if (config.contains("hidden_act") && !config["hidden_act"].is_null()) {
    static const std::set<std::string> kGated = {"gelu",
                                                 "gelu_10",
                                                 "gelu_accurate",
                                                 "gelu_fast",
                                                 "gelu_new",
                                                 "gelu_python",
                                                 "gelu_pytorch_tanh",
                                                 "laplace",
                                                 "leaky_relu",
                                                 "linear",
                                                 "mish",
                                                 "quick_gelu",
                                                 "relu",
                                                 "relu2",
                                                 "relu6",
                                                 "sigmoid",
                                                 "silu",
                                                 "swish",
                                                 "tanh"};
    const nlohmann::json& act = config["hidden_act"];
    if (!act.is_string() || kGated.count(act.get<std::string>()) == 0) {
      return Status::Invalid(fmt::format(
          "{}: hidden_act = {} (allowed: {}: transformers' activation names)", origin,
          JsonShown(act), Join(std::vector<std::string>(kGated.begin(), kGated.end()), ", ")));
    }
  }
  model.norm = Norm::kRmsNorm;
  model.position_embedding = PositionEmbedding::kRope;
  bool attention_bias = false;
  if (config.contains("attention_bias") && !config["attention_bias"].is_null()) {
    if (!config["attention_bias"].is_boolean()) {
      return Status::Invalid(fmt::format("{}: attention_bias = {} (allowed: true or false)", origin,
                                         JsonShown(config["attention_bias"])));
    }
    attention_bias = config["attention_bias"].get<bool>();
  }
  model.qkv_bias = family->qkv_bias || attention_bias;
  model.qk_norm = family->qk_norm;

  // Each HF key goes through the model schema, so validation and messages are the schema's.
  auto set = [&](const char* hf_key, const char* key, bool required) -> Status {
    if (!config.contains(hf_key) || config[hf_key].is_null()) {
      if (!required) return Status::Ok();
      const Field<ModelSpec>* field = ModelSchema().Find(key);
      return Status::Invalid(
          fmt::format("{}: {} is missing (allowed: {})", origin, hf_key, field->info.allowed));
    }
    // Every key read here is a number or a Boolean in transformers' configs; "32" as text is a
    // hand edit transformers itself would not read as a size.
    if (!config[hf_key].is_number() && !config[hf_key].is_boolean()) {
      const Field<ModelSpec>* field = ModelSchema().Find(key);
      return Status::Invalid(fmt::format("{}: {} = {} is not a JSON number or Boolean (allowed: {})",
                                         origin, hf_key, JsonShown(config[hf_key]),
                                         field->info.allowed));
    }
    RawValue raw = ScalarValue(ScalarText(config[hf_key]), fmt::format("{} ({})", origin, hf_key));
    return ModelSchema().Set(model, key, raw);
  };
  SP_RETURN_IF_ERROR(set("num_hidden_layers", "layers", true));
  SP_RETURN_IF_ERROR(set("hidden_size", "hidden", true));
  SP_RETURN_IF_ERROR(set("intermediate_size", "ffn_hidden", family->moe != Family::kQwenMoe));
  SP_RETURN_IF_ERROR(set("num_attention_heads", "heads", true));
  // 0 is the model keys' "one per head", but no config says so: transformers divides by it.
  if (config.contains("num_key_value_heads") && config["num_key_value_heads"] == 0) {
    return Status::Invalid(fmt::format(
        "{}: num_key_value_heads = 0 (allowed: 1 or more, dividing num_attention_heads; absent or "
        "null for one per head)",
        origin));
  }
  SP_RETURN_IF_ERROR(set("num_key_value_heads", "kv_heads", false));
  // DeepSeek's head_dim, where present, is the rotary part; its heads are read below.
  if (family->moe != Family::kDeepSeek) SP_RETURN_IF_ERROR(set("head_dim", "head_dim", false));
  SP_RETURN_IF_ERROR(set("vocab_size", "vocab", true));
  SP_RETURN_IF_ERROR(set("tie_word_embeddings", "tied_embeddings", false));
  // Mistral's and Mixtral's sliding window (every layer local; null or absent: none).
  if (std::string_view(family->model_type) == "mistral" ||
      std::string_view(family->model_type) == "mixtral") {
    SP_RETURN_IF_ERROR(set("sliding_window", "sliding_window", false));
  }

  // Qwen's optional sliding window (use_sliding_window, local attention from layer
  // max_window_layers on) is a layout the model keys cannot state: refused, not dropped.
  // Transformers windows layer i when use_sliding_window and i >= max_window_layers (and a
  // window is given); with max_window_layers >= the layers, or no window, no layer is local.
  auto number = [&](const char* key) -> double {
    return config.contains(key) && config[key].is_number() ? config[key].get<double>() : -1;
  };
  const bool windowed_layers = number("max_window_layers") < 0 ||
                               number("max_window_layers") < number("num_hidden_layers");
  if (config.contains("use_sliding_window") && config["use_sliding_window"].is_boolean() &&
      config["use_sliding_window"].get<bool>() && number("sliding_window") > 0 &&
      windowed_layers && std::string_view(family->model_type).rfind("qwen", 0) == 0) {
    return Status::Invalid(fmt::format(
        "{}: use_sliding_window = true (local attention from layer max_window_layers on) is not "
        "supported (allowed: false; a Mistral-style window on every layer is model.sliding_window)",
        origin));
  }

  switch (family->moe) {
    case Family::kDense:
      break;
    case Family::kMixtral:
      SP_RETURN_IF_ERROR(set("num_local_experts", "experts", true));
      SP_RETURN_IF_ERROR(set("num_experts_per_tok", "top_k", true));
      break;
    case Family::kQwenMoe: {
      SP_RETURN_IF_ERROR(set("num_experts", "experts", true));
      SP_RETURN_IF_ERROR(set("num_experts_per_tok", "top_k", true));
      SP_RETURN_IF_ERROR(set("moe_intermediate_size", "expert_ffn_hidden", true));
      SP_RETURN_IF_ERROR(set("shared_expert_intermediate_size", "shared_expert_ffn_hidden", false));
      if (model.shared_expert_ffn_hidden > 0) model.shared_experts = 1;
      SP_RETURN_IF_ERROR(set("decoder_sparse_step", "moe_layer_interval", false));
      // Qwen: layer i is MoE when (i + 1) % step == 0, i.e. the first MoE layer is step - 1.
      model.moe_first_dense_layers = model.moe_layer_interval - 1;
      if (config.contains("mlp_only_layers") && config["mlp_only_layers"].is_array() &&
          !config["mlp_only_layers"].empty()) {
        return Status::Invalid(
            fmt::format("{}: mlp_only_layers = {} is not supported (allowed: an empty list)",
                        origin, JsonShown(config["mlp_only_layers"])));
      }
      if (model.ffn_hidden == 0) model.ffn_hidden = model.expert_ffn_hidden;
      break;
    }
    case Family::kDeepSeek: {
      SP_RETURN_IF_ERROR(set("q_lora_rank", "q_lora_rank", false));
      SP_RETURN_IF_ERROR(set("kv_lora_rank", "kv_lora_rank", true));
      SP_RETURN_IF_ERROR(set("qk_nope_head_dim", "head_dim", true));
      SP_RETURN_IF_ERROR(set("qk_rope_head_dim", "rope_head_dim", true));
      SP_RETURN_IF_ERROR(set("v_head_dim", "v_head_dim", true));
      // Every head has its own up-projected key and value, whatever num_key_value_heads says.
      model.kv_heads = 0;
      SP_RETURN_IF_ERROR(set("n_routed_experts", "experts", false));
      if (model.experts > 0) {
        SP_RETURN_IF_ERROR(set("num_experts_per_tok", "top_k", true));
        SP_RETURN_IF_ERROR(set("moe_intermediate_size", "expert_ffn_hidden", true));
        SP_RETURN_IF_ERROR(set("n_shared_experts", "shared_experts", false));
        SP_RETURN_IF_ERROR(set("first_k_dense_replace", "moe_first_dense_layers", false));
        if (config.contains("moe_layer_freq") && !config["moe_layer_freq"].is_null() &&
            !(config["moe_layer_freq"].is_number_integer() &&
              config["moe_layer_freq"].get<int64_t>() == 1)) {
          return Status::Invalid(fmt::format("{}: moe_layer_freq = {} is not supported (allowed: 1)",
                                             origin, JsonShown(config["moe_layer_freq"])));
        }
      }
      break;
    }
  }
  SP_RETURN_IF_ERROR(ValidateModel(model).WithContext(origin));
  return model;
}

}  // namespace scaleplan::spec
